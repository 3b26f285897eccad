/**
 * Who may talk to the agent. A person is let in when their user id or the
 * chat's id is listed, or when the operator opened the bot to everyone. With no
 * list and no explicit opening, nobody is: an agent that runs code on its host
 * must not be open by accident.
 */
export interface AccessPolicy {
  allowedUserIds: ReadonlySet<string>;
  allowedChatIds: ReadonlySet<string>;
  openToAll: boolean;
}

export function isAllowed(policy: AccessPolicy, userId: string, chatId: string): boolean {
  if (policy.openToAll) return true;
  return policy.allowedUserIds.has(userId) || policy.allowedChatIds.has(chatId);
}
