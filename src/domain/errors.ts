/**
 * One error tree for the package. The package ships several entry points
 * (`.`, `./sqlite`, `./aws`), and a bundler or a nested install can load two
 * copies of one module: an error thrown by one copy then fails `instanceof`
 * against the other's class. So every error carries a brand under a global
 * symbol, holding the stable names of its class and its ancestors, and each
 * class recognises its errors by that name with `isInstance` instead.
 */

/** Global (`Symbol.for`), so every copy of this module agrees on it. */
const BRAND = Symbol.for('telegram-claude-agent.error');

/** A class of the tree, as `isInstance` sees it: something to construct, with a stable name. */
type AgentErrorClass<T extends AgentError = AgentError> = (abstract new (
  ...args: never[]
) => T) & { readonly errorName: string };

export class AgentError extends Error {
  /**
   * The error's stable name, also its `name`. Every subclass declares its own:
   * unlike the class's own `name`, it survives minifiers and module copies.
   * A class that has subclasses declares it as `string`, so they can too.
   */
  static readonly errorName: string = 'AgentError';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    const names = lineage(new.target as unknown as AgentErrorClass);
    this.name = names[0] ?? AgentError.errorName;
    // Not enumerable: the brand stays out of logs and structural comparisons.
    Object.defineProperty(this, BRAND, { value: names, enumerable: false });
  }

  /**
   * Whether `value` is an error of this class or one of its subclasses, from
   * any copy of the package. `AgentError.isInstance` accepts every error of
   * the tree.
   */
  static isInstance<T extends AgentError>(this: AgentErrorClass<T>, value: unknown): value is T {
    if (typeof value !== 'object' || value === null) return false;
    const names: unknown = (value as { [BRAND]?: unknown })[BRAND];
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class it is called on, a subclass too
    return Array.isArray(names) && names.includes(this.errorName);
  }
}

/** The stable names of a class and its ancestors up to AgentError, most specific first. */
function lineage(leaf: AgentErrorClass): string[] {
  const names: string[] = [];
  for (let type: unknown = leaf; typeof type === 'function'; type = Object.getPrototypeOf(type)) {
    if (Object.hasOwn(type, 'errorName')) names.push((type as AgentErrorClass).errorName);
    if (type === AgentError) break;
  }
  return names;
}

/** The message of anything thrown: an error's message, anything else as a string. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
