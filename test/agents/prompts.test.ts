/**
 * Prompt builders and answer parsers: what workflows send and how they read answers from
 * real models (JSON in prose or a fence) as well as the scripted one.
 */
import { describe, expect, it } from "vitest"
import {
  extractCode,
  parsePlan,
  parseReview,
  parseToolCall,
  refactorRequest,
  reviewRequest,
  toolActivity
} from "../../agents"

describe("parsing model answers", () => {
  it("reads a tool call from bare JSON, a ```json fence or prose around it", () => {
    const call = { tool: "read_file", args: { path: "a.txt" }, summary: "look" }
    expect(parseToolCall(JSON.stringify(call))).toEqual(call)
    expect(parseToolCall("Sure!\n```json\n" + JSON.stringify(call) + "\n```")).toEqual(call)
    expect(parseToolCall('{"tool":"done"}')).toEqual({ tool: "done", args: {}, summary: "" })
  })

  it("names what is wrong with a malformed answer", () => {
    expect(() => parseToolCall("I think we are done")).toThrow(/the model's answer is not JSON/)
    expect(() => parseToolCall('{"tool":"rm_rf","args":{}}')).toThrow(
      /tool call does not have the expected shape[\s\S]*tool/
    )
    expect(() => parseReview('{"summary":"ok","issues":[]}')).toThrow(
      /review does not have the expected shape[\s\S]*verdict/
    )
    expect(() => parsePlan('{"subtasks":[]}')).toThrow(/plan does not have the expected shape/)
  })

  it("extracts fenced code, even code containing backtick fences", () => {
    const code = "const md = `\n```\n`"
    const prompt = reviewRequest(code).messages[1]!.content
    expect(extractCode(prompt.replace(/^[\s\S]*?Review this code:\s*/, ""))).toBe(code)
    expect(extractCode(refactorRequest(code, "fb").messages[1]!.content.split("Code:\n")[1]!)).toBe(code)
  })
})

describe("toolActivity", () => {
  it("maps each tool call to its activity", () => {
    expect(toolActivity({ tool: "write_file", args: { path: "a", content: "" }, summary: "" })).toMatchObject(
      {
        _tag: "Activity",
        name: "tool.writeFile",
        input: { path: "a", content: "" }
      }
    )
    expect(toolActivity({ tool: "read_file", args: { path: "a" }, summary: "" })).toMatchObject({
      name: "tool.readFile"
    })
    expect(toolActivity({ tool: "list_files", args: {}, summary: "" })).toMatchObject({
      name: "tool.listFiles",
      input: {}
    })
    expect(
      toolActivity({ tool: "run_command", args: { command: "ls", args: ["-l"] }, summary: "" })
    ).toMatchObject({
      name: "tool.runCommand",
      input: { command: "ls", args: ["-l"] }
    })
  })

  it("refuses arguments of the wrong shape, naming the tool and the argument", () => {
    expect(() => toolActivity({ tool: "read_file", args: {}, summary: "" })).toThrow(
      /tool read_file: argument "path" must be a non-empty string, got undefined/
    )
    expect(() => toolActivity({ tool: "write_file", args: { path: "a", content: 3 }, summary: "" })).toThrow(
      /tool write_file: argument "content" must be a string, got 3/
    )
    expect(() =>
      toolActivity({ tool: "run_command", args: { command: "ls", args: "-l" }, summary: "" })
    ).toThrow(/argument "args" must be an array of strings/)
  })
})
