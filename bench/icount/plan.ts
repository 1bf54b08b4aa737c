/**
 * The workloads of the instruction-count mode and the plan syntax bench/icount/workload.ts takes
 * on its command line (a module of its own: workload.ts is a script, importing it runs it).
 */

/** The fixed workloads, in run order. */
export const WORKLOADS = ["model/list", "thread/loaded/list", "flood", "turn"] as const
export type Workload = (typeof WORKLOADS)[number]

/** One workload of a plan: a phase of `small` items, then a phase of `large` items. */
export interface Step {
  readonly workload: Workload
  readonly small: number
  readonly large: number
}

/** `model/list:50:250,flood:10000:50000` -> steps. */
export const parsePlan = (text: string): Array<Step> =>
  text.split(",").map((part) => {
    const [workload, small, large] = part.split(":") as [Workload, string, string]
    if (!WORKLOADS.includes(workload)) throw new Error(`unknown workload ${workload}`)
    return { workload, small: Number(small), large: Number(large) }
  })
