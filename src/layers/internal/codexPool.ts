/**
 * The bookkeeping of `CodexPool`: which server process holds which thread,
 * how loaded each one is, and which one takes the next thread. Plain
 * synchronous state, no Effects: every method runs to its end before another
 * fiber can look, so a choice and the reservation that follows it are one step.
 *
 * @internal
 */
import type * as CodexError from "../../schema/CodexError.ts"
import type * as AppServerClient from "../../services/AppServerClient.ts"
import type * as Codex from "../../services/Codex.ts"

/** One app-server process of the pool, for as long as it lives. */
export interface Member {
  /** Its place in the pool, `0 .. size - 1`; a replacement takes the same place. */
  readonly index: number
  /** How many processes held this place before it. */
  readonly restarts: number
  readonly codex: Codex.Service
  readonly client: AppServerClient.Service
  /** The threads loaded on it (as far as the pool knows). */
  readonly threads: Set<string>
  /** Thread starts and resumes on their way to it: counted as load so concurrent starts spread. */
  reserved: number
  alive: boolean
}

/** One place of the pool: the process holding it, if one is up. */
export interface Slot {
  member: Member | undefined
  restarts: number
  lastError: CodexError.CodexError | undefined
}

/** The outcome of a placement: a member with room, every member full, or no member up. */
export type Choice =
  | { readonly _tag: "Member"; readonly member: Member }
  | { readonly _tag: "Full" }
  | { readonly _tag: "NoneUp" }

/** Pins and loads of the pool's members. */
export class Book {
  private readonly slots: Array<Slot>
  private readonly pins = new Map<string, Member>()
  // where the search for the least loaded member starts: ties go round the pool
  private cursor = 0

  readonly maxThreads: number

  constructor(size: number, maxThreads: number) {
    this.maxThreads = maxThreads
    this.slots = Array.from({ length: size }, () => ({ member: undefined, restarts: 0, lastError: undefined }))
  }

  get size(): number {
    return this.slots.length
  }

  /** A new process holds place `member.index`. */
  up(member: Member): void {
    const slot = this.slots[member.index]!
    slot.member = member
    slot.restarts = member.restarts
    slot.lastError = undefined
  }

  /** The process died (or is closing): its threads are no longer loaded anywhere the pool knows of. */
  down(member: Member): void {
    member.alive = false
    const slot = this.slots[member.index]!
    if (slot.member === member) slot.member = undefined
    for (const threadId of member.threads) {
      if (this.pins.get(threadId) === member) this.pins.delete(threadId)
    }
    member.threads.clear()
  }

  /** A replacement for place `index` failed to start. */
  failed(index: number, error: CodexError.CodexError): void {
    this.slots[index]!.lastError = error
  }

  /** The live member holding `threadId`, if the pool placed it. */
  pinned(threadId: string): Member | undefined {
    const member = this.pins.get(threadId)
    return member !== undefined && member.alive ? member : undefined
  }

  /** Records that `threadId` is loaded on `member` (and nowhere else). */
  pin(threadId: string, member: Member): void {
    if (!member.alive) return
    const previous = this.pins.get(threadId)
    if (previous === member) return
    previous?.threads.delete(threadId)
    this.pins.set(threadId, member)
    member.threads.add(threadId)
  }

  /** `threadId` is no longer loaded on `member` (archived, or unloaded by codex). */
  unpin(threadId: string, member: Member): void {
    if (this.pins.get(threadId) !== member) return
    this.pins.delete(threadId)
    member.threads.delete(threadId)
  }

  load(member: Member): number {
    return member.threads.size + member.reserved
  }

  hasRoom(member: Member): boolean {
    return this.load(member) < this.maxThreads
  }

  /** The least loaded live member with room for one more thread; ties go round the pool. */
  choose(): Choice {
    let best: Member | undefined
    let anyUp = false
    const n = this.slots.length
    for (let k = 0; k < n; k++) {
      const member = this.slots[(this.cursor + k) % n]!.member
      if (member === undefined) continue
      anyUp = true
      if (this.hasRoom(member) && (best === undefined || this.load(member) < this.load(best))) best = member
    }
    if (best === undefined) return anyUp ? { _tag: "Full" } : { _tag: "NoneUp" }
    this.cursor = (best.index + 1) % n
    return { _tag: "Member", member: best }
  }

  /** Any live member, for requests that do not load a thread (listing, models, account). */
  any(): Member | undefined {
    let best: Member | undefined
    const n = this.slots.length
    for (let k = 0; k < n; k++) {
      const member = this.slots[(this.cursor + k) % n]!.member
      if (member !== undefined && (best === undefined || this.load(member) < this.load(best))) best = member
    }
    return best
  }

  /** Every live member. */
  members(): ReadonlyArray<Member> {
    return this.slots.flatMap((slot) => slot.member === undefined ? [] : [slot.member])
  }

  /**
   * With no member up: the error of a failed replacement, once every place's
   * latest start has failed (waiting would then wait for the retry schedule,
   * which may never succeed). `undefined` while a place is up or still on its
   * first attempt.
   */
  startFailure(): CodexError.CodexError | undefined {
    let error: CodexError.CodexError | undefined
    for (const slot of this.slots) {
      if (slot.member !== undefined || slot.lastError === undefined) return undefined
      error = slot.lastError
    }
    return error
  }

  places(): ReadonlyArray<Readonly<Slot>> {
    return this.slots
  }

}
