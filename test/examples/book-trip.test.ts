/**
 * `bookTrip`, the saga: the order of bookings and compensations, read from the history.
 */
import { describe, expect, it } from "vitest"
import type { EventOf } from "../../core"
import { bookTrip } from "../../examples"
import { Simulation } from "../support/simulator"
import { expectReplayAgrees } from "../support/replay-agrees"
import { useDriver, scheduledNames } from "./driver"

const driver = useDriver()

const completed = (sim: Simulation, name: string) => {
  const cmd = sim.history.find(
    (e): e is EventOf<"ActivityScheduled"> => e.type === "ActivityScheduled" && e.name === name
  )!.cmd
  return (sim.history.find((e) => e.type === "ActivityCompleted" && e.cmd === cmd) as any).result
}

describe("bookTrip", () => {
  it("the car booking fails: the hotel, then the flight, are cancelled; the failure names all of it", async () => {
    const sim = new Simulation(bookTrip, { traveler: "Ada", destination: "Lisbon" }, { workflowId: "trip-1" })
    await driver.runAll(sim)

    expect(scheduledNames(sim)).toEqual(["bookFlight", "bookHotel", "bookCar", "cancelHotel", "cancelFlight"])
    const flight = completed(sim, "bookFlight")
    const hotel = completed(sim, "bookHotel")
    expect(flight.confirmation).toMatch(/^FL-[0-9A-F]{8}$/)
    expect(hotel.confirmation).toMatch(/^HT-[0-9A-F]{8}$/)
    expect(flight.reservation).toBe("trip-1/flight")
    // Each compensation cancels the reservation it belongs to; the refused car needs none.
    const inputs = sim.history.flatMap((e) =>
      e.type === "ActivityScheduled" && e.name.startsWith("cancel") ? [e.input] : []
    )
    expect(inputs).toEqual([{ reservation: "trip-1/hotel" }, { reservation: "trip-1/flight" }])
    expect(sim.history.find((e) => e.type === "ActivityFailed")).toMatchObject({
      error: { name: "NonRetryableError" }
    })

    expect(sim.instance.status).toBe("failed")
    expect(sim.instance.error).toMatchObject({
      name: "TripBookingFailed",
      details: {
        failed: "car",
        error: { name: "NonRetryableError" },
        compensated: [
          { kind: "hotel", reservation: "trip-1/hotel", confirmation: hotel.confirmation },
          { kind: "flight", reservation: "trip-1/flight", confirmation: flight.confirmation }
        ]
      }
    })
    expect(sim.instance.error!.message).toBe(
      `the car booking failed (no car available for Ada to Lisbon (the stand-in provider was told to fail)); ` +
        `compensated: hotel ${hotel.confirmation}, flight ${flight.confirmation}`
    )
    expectReplayAgrees(bookTrip, sim)
  })

  it("a failure at the first booking has nothing to compensate", async () => {
    const sim = new Simulation(bookTrip, { traveler: "Ada", destination: "Oslo", failAt: "flight" })
    await driver.runAll(sim)
    expect(scheduledNames(sim)).toEqual(["bookFlight"])
    expect(sim.instance.error).toMatchObject({
      name: "TripBookingFailed",
      details: { failed: "flight", compensated: [] }
    })
  })

  it("a booking that failed without a refusal (timeouts, retries spent) may have been made: it is compensated too", async () => {
    const sim = new Simulation(
      bookTrip,
      { traveler: "Ada", destination: "Nice", failAt: "none" },
      { workflowId: "trip-3" }
    )
    await driver.runOpen(sim, "bookFlight")
    sim.failActivity(driver.open(sim, "bookHotel").cmd, "AttemptTimeout: no answer in 30 s")
    await driver.runAll(sim)
    expect(scheduledNames(sim)).toEqual(["bookFlight", "bookHotel", "cancelHotel", "cancelFlight"])
    expect(sim.instance.error).toMatchObject({
      name: "TripBookingFailed",
      details: {
        failed: "hotel",
        compensated: [
          { kind: "hotel", reservation: "trip-3/hotel" },
          { kind: "flight", reservation: "trip-3/flight" }
        ]
      }
    })
    expectReplayAgrees(bookTrip, sim)
  })

  it('failAt "none" books all three', async () => {
    const sim = new Simulation(bookTrip, { traveler: "Ada", destination: "Rome", failAt: "none" })
    await driver.runAll(sim)
    expect(sim.instance.status).toBe("completed")
    expect((sim.instance.result as any).bookings.map((b: any) => b.kind)).toEqual(["flight", "hotel", "car"])
    expectReplayAgrees(bookTrip, sim)
  })

  it("cancelled during the hotel booking: the hotel call is withdrawn, then the hotel (it may have been made) and the flight are cancelled", async () => {
    const sim = new Simulation(bookTrip, { traveler: "Ada", destination: "Paris" }, { workflowId: "trip-2" })
    await driver.runOpen(sim, "bookFlight")
    const hotelCmd = driver.open(sim, "bookHotel").cmd
    expect(sim.cancel("plans changed")).toEqual([
      { type: "ActivityCancelRequested", cmd: hotelCmd },
      expect.objectContaining({
        type: "ActivityScheduled",
        name: "cancelHotel",
        input: { reservation: "trip-2/hotel" }
      })
    ])
    await driver.runOpen(sim, "cancelHotel")
    expect(driver.open(sim, "cancelFlight").input).toEqual({ reservation: "trip-2/flight" })
    await driver.runOpen(sim, "cancelFlight")
    expect(sim.instance.status).toBe("cancelled")
    expectReplayAgrees(bookTrip, sim)
  })
})
