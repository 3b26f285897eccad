import { questionStoreContract } from '../../../test/support/question-store-contract.js';
import { InMemoryQuestionStore } from './in-memory-question-store.js';

questionStoreContract('InMemoryQuestionStore', () => new InMemoryQuestionStore());
