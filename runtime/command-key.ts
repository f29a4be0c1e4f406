/** A run's command (an activity task, a timer) as one string, to key Maps and Sets by. */
export const commandKey = (runId: string, cmd: number) => `${runId}\u0000${cmd}`
