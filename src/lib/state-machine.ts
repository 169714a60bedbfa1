import { CcError } from './errors.js';

/**
 * An explicit lifecycle: a union of state names and a transition table. Illegal transitions throw
 * failed_precondition naming the object, the current state and the attempted one.
 */
export type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

export class StateMachine<S extends string> {
  readonly #what: string;
  readonly #table: TransitionTable<S>;
  readonly #code: string;
  #state: S;
  readonly #listeners: ((from: S, to: S) => void)[] = [];

  constructor(what: string, initial: S, table: TransitionTable<S>, code = 'ERR_STATE') {
    this.#what = what;
    this.#state = initial;
    this.#table = table;
    this.#code = code;
  }

  get state(): S {
    return this.#state;
  }

  is(...states: S[]): boolean {
    return states.includes(this.#state);
  }

  canMove(to: S): boolean {
    return this.#table[this.#state].includes(to);
  }

  /** Moves to `to` or throws failed_precondition. */
  move(to: S): void {
    if (!this.canMove(to)) {
      throw new CcError(
        'failed_precondition',
        this.#code,
        `cannot move ${this.#what} to ${to}: it is ${this.#state}`,
      );
    }
    const from = this.#state;
    this.#state = to;
    for (const l of this.#listeners) l(from, to);
  }

  /** Throws failed_precondition unless the state is one of `states`. */
  require(action: string, ...states: S[]): void {
    if (!states.includes(this.#state)) {
      throw new CcError(
        'failed_precondition',
        this.#code,
        `cannot ${action} ${this.#what}: it is ${this.#state}`,
      );
    }
  }

  onTransition(listener: (from: S, to: S) => void): void {
    this.#listeners.push(listener);
  }
}
