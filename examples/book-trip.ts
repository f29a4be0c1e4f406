/**
 * `bookTrip`: a saga. Book a flight, a hotel and a car; if a booking fails (or the workflow is
 * cancelled), undo the bookings already made, the most recent first.
 *
 * Every booking carries a reservation id the workflow chooses (`<workflow id>/<kind>`), and
 * its compensation is registered before the booking is asked for: a booking interrupted by a
 * cancellation (or failed by timeouts) may have been made even though its result never came
 * back, and cancelling it by that id is safe either way. A booking the provider refused (a
 * non-retryable error) needs no undoing and is dropped from the list. The compensations run
 * in the `catch` block, so after a crash the replay resumes them where they stopped;
 * cancellation compensates too, then ends the workflow as cancelled.
 *
 * To show the compensation, the booking named by `failAt` fails (default: the car);
 * `"failAt": "none"` books all three.
 */
import * as Schema from "effect/Schema"
import {
  activity,
  ActivityFailure,
  Cancelled,
  toErrorInfo,
  workflow,
  workflowInfo,
  WorkflowFailure,
  type Descriptor
} from "../core"

export const bookingKinds = ["flight", "hotel", "car"] as const
export type BookingKind = (typeof bookingKinds)[number]

export const BookTripInput = Schema.Struct({
  traveler: Schema.String.pipe(Schema.minLength(1)),
  destination: Schema.String.pipe(Schema.minLength(1)),
  /** Which booking fails, to show the compensation (default `"car"`; `"none"` books all). */
  failAt: Schema.optional(Schema.Literal(...bookingKinds, "none"))
})
export type BookTripInput = typeof BookTripInput.Type

export const BookingRequest = Schema.Struct({
  /** Chosen by the workflow: the same on every attempt, and what the compensation cancels. */
  reservation: Schema.String,
  traveler: Schema.String,
  destination: Schema.String,
  /** The stand-in provider refuses the booking (non-retryably) when set. */
  fail: Schema.Boolean
})
export type BookingRequest = typeof BookingRequest.Type

export const Booking = Schema.Struct({
  kind: Schema.String,
  reservation: Schema.String,
  confirmation: Schema.String
})
export type Booking = typeof Booking.Type

const bookingOptions = {
  input: BookingRequest,
  output: Booking,
  retry: { initialInterval: "500 millis", maximumAttempts: 3, nonRetryableErrors: ["NonRetryableError"] },
  timeout: "30 seconds"
} as const

// A compensation must eventually succeed: it is retried without limit.
const compensationOptions = {
  input: Schema.Struct({ reservation: Schema.String }),
  output: Schema.Struct({ cancelled: Schema.String }),
  retry: { initialInterval: "1 second", maximumInterval: "1 minute" },
  timeout: "30 seconds"
} as const

export const bookFlight = activity("bookFlight", bookingOptions)
export const bookHotel = activity("bookHotel", bookingOptions)
export const bookCar = activity("bookCar", bookingOptions)
/** Cancels a reservation; cancelling one never made, or already cancelled, succeeds. */
export const cancelFlight = activity("cancelFlight", compensationOptions)
export const cancelHotel = activity("cancelHotel", compensationOptions)
export const cancelCar = activity("cancelCar", compensationOptions)

const steps = [
  { kind: "flight", book: bookFlight, undo: cancelFlight },
  { kind: "hotel", book: bookHotel, undo: cancelHotel },
  { kind: "car", book: bookCar, undo: cancelCar }
] as const

export interface Compensated {
  readonly kind: BookingKind
  readonly reservation: string
  /** Absent when the booking's result never came back (it was interrupted). */
  readonly confirmation?: string
}

/** The provider said no (a non-retryable error), as opposed to not answering. */
const isRefusal = (failure: ActivityFailure): boolean =>
  failure.cause.nonRetryable === true || failure.cause.name === "NonRetryableError"

export interface BookTripResult {
  readonly status: "booked"
  readonly bookings: ReadonlyArray<Booking>
}

/**
 * The saga (see the module doc). When a booking fails, the workflow fails with
 * `TripBookingFailed`, whose details name the failed booking, its error and the bookings
 * compensated (`Compensated`), in the order they were cancelled.
 *
 * @example // POST /api/workflows {"type":"bookTrip","input":{"traveler":"Ada","destination":"Lisbon"}}
 */
export const bookTrip = workflow(
  "bookTrip",
  { input: BookTripInput },
  function* ({ traveler, destination, failAt = "car" }): Generator<Descriptor, BookTripResult, any> {
    const { workflowId } = yield* workflowInfo()
    const bookings: Array<Booking> = []
    const compensations: Array<{
      readonly kind: BookingKind
      readonly reservation: string
      readonly undo: typeof cancelFlight
    }> = []
    let current: BookingKind = "flight"
    try {
      for (const step of steps) {
        current = step.kind
        const reservation = `${workflowId}/${step.kind}`
        compensations.unshift({ kind: step.kind, reservation, undo: step.undo })
        try {
          bookings.push(yield* step.book({ reservation, traveler, destination, fail: failAt === step.kind }))
        } catch (error) {
          // Refused by the provider: nothing was booked to undo. (A failure after timeouts or
          // retries proves nothing, so that booking's compensation stays.)
          if (error instanceof ActivityFailure && isRefusal(error)) compensations.shift()
          throw error
        }
      }
      return { status: "booked", bookings }
    } catch (error) {
      const compensated: Array<Compensated> = []
      for (const { kind, reservation, undo } of compensations) {
        yield* undo({ reservation })
        const confirmation = bookings.find((b) => b.reservation === reservation)?.confirmation
        compensated.push(
          confirmation === undefined ? { kind, reservation } : { kind, reservation, confirmation }
        )
      }
      if (error instanceof Cancelled) throw error
      const { name, message } = error instanceof ActivityFailure ? error.cause : toErrorInfo(error)
      const cause = { name, message }
      throw new WorkflowFailure({
        name: "TripBookingFailed",
        message:
          `the ${current} booking failed (${cause.message}); ` +
          (compensated.length === 0
            ? "nothing to compensate"
            : `compensated: ${compensated.map((b) => `${b.kind} ${b.confirmation ?? b.reservation}`).join(", ")}`),
        details: { failed: current, error: cause, compensated }
      })
    }
  }
)
