/** What `promise` rejects with; the test fails if it resolves. */
export const failure = async (promise: Promise<unknown>): Promise<any> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected the call to fail")
}
