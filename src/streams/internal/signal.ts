/**
 * "Something changed": the wake-up behind state that is appended to
 * synchronously (by the reader) and read by any number of fibers, each of
 * which re-reads the state after waking (a turn's events, a command's
 * output). It carries no value, so a wake with nobody waiting is lost on
 * purpose: a reader checks the state before it waits.
 *
 * @internal
 */
import { Effect } from "../../schema/internal/effect.ts"

/** Fibers waiting for the next change, woken all at once. */
export class Signal {
  // One waiter is the common case (one stream per turn): no array for it.
  private one: (() => void) | undefined = undefined
  private more: Array<() => void> | undefined = undefined

  /** Whether anyone waits. */
  get waiting(): boolean {
    return this.one !== undefined || this.more !== undefined
  }

  /**
   * Resumes everyone waiting now (Effect resumes them synchronously); whoever
   * starts waiting meanwhile waits for the next wake.
   */
  wake(): void {
    const one = this.one
    const more = this.more
    if (one === undefined && more === undefined) return
    this.one = undefined
    this.more = undefined
    if (one !== undefined) one()
    if (more !== undefined) for (let i = 0; i < more.length; i++) more[i]!()
  }

  /** Waits for the next {@link wake}; an interrupted wait leaves nothing behind. */
  readonly wait: Effect.Effect<void> = Effect.callback<void>((resume) => {
    const waiter = () => resume(Effect.void)
    // in the order they came: `one`, when set, came before all of `more`
    if (this.one === undefined && this.more === undefined) this.one = waiter
    else (this.more ??= []).push(waiter)
    return Effect.sync(() => this.remove(waiter))
  })

  private remove(waiter: () => void): void {
    if (this.one === waiter) {
      this.one = undefined
      return
    }
    const more = this.more
    if (more === undefined) return
    const index = more.indexOf(waiter)
    if (index >= 0) more.splice(index, 1)
    if (more.length === 0) this.more = undefined
  }
}
