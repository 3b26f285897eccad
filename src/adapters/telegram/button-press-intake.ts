import type { Logger } from '../../ports/logger.js';
import type { PressResult, QuestionAnswers } from '../../ports/question-store.js';
import { texts } from '../../texts/en.js';
import type { ButtonPress } from './question-buttons.js';

const NOTE: Record<PressResult, string> = {
  chosen: texts.questions.pressChosen,
  done: texts.questions.pressChosen,
  selected: texts.questions.pressSelected,
  unselected: texts.questions.pressUnselected,
  stale: texts.questions.pressStale,
};

/**
 * Records a question button's press (a person the access policy does not
 * admit in that chat records nothing) and says what the button's spinner
 * should show. Rejects only when the store could not be written, so that the
 * update is delivered again.
 */
export async function recordPress(
  press: ButtonPress,
  answers: QuestionAnswers,
  logger: Logger,
): Promise<{ result: PressResult | 'not-allowed'; note: string }> {
  if (!press.allowed) {
    logger.warn('a button was pressed by someone not allowed in the chat', {
      userId: press.userId,
      chatId: press.conversation.chatId,
    });
    return { result: 'not-allowed', note: texts.questions.pressNotAllowed };
  }
  const result = await answers.press(
    press.conversationId,
    press.questionId,
    press.action,
    press.pressId,
  );
  logger.info('question button pressed', { conversationId: press.conversationId, result });
  return { result, note: NOTE[result] };
}
