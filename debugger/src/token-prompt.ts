/**
 * Asks for the server's bearer token when it answers 401 (the page was opened without
 * `?access_token=`, or through a proxy or another origin that does not carry the server's
 * cookie), and shows whether the page holds one. The token goes to sessionStorage (auth.ts).
 */
import { getToken, setToken } from "./auth"
import { h, render } from "./dom"

export interface TokenPrompt {
  /** Shows the prompt with the server's reason (e.g. "the bearer token is not valid"). */
  show(reason: string): void
  hide(): void
}

export const createTokenPrompt = (
  host: HTMLElement,
  state: HTMLElement,
  onToken: () => void
): TokenPrompt => {
  const input = h("input", {
    type: "password",
    name: "token",
    autocomplete: "off",
    placeholder: "TEMPORAL_LITE_TOKEN",
    "aria-label": "bearer token",
    "data-testid": "token-input"
  })
  const reason = h("span", { "data-testid": "token-reason" })
  const showState = () =>
    render(
      state,
      getToken() &&
        h(
          "span",
          { class: "muted small", "data-testid": "token-state" },
          "token set ",
          h(
            "button",
            {
              class: "link",
              title: "forget the token this tab holds",
              onclick: () => {
                setToken(undefined)
                showState()
              }
            },
            "forget"
          )
        )
    )
  render(
    host,
    h(
      "form",
      {
        class: "token-form",
        onsubmit: (e: Event) => {
          e.preventDefault()
          if (input.value.trim() === "") return
          setToken(input.value)
          input.value = ""
          prompt.hide()
          onToken()
        }
      },
      h("strong", {}, "This server requires a bearer token. "),
      reason,
      " ",
      input,
      h("button", { type: "submit", "data-testid": "token-submit" }, "Use token"),
      h("span", { class: "muted small" }, " kept in this tab only (sessionStorage)")
    )
  )
  host.hidden = true
  showState()

  const prompt: TokenPrompt = {
    show(text) {
      reason.textContent = `(${text})`
      const wasHidden = host.hidden
      host.hidden = false
      showState()
      if (wasHidden) input.focus()
    },
    hide() {
      host.hidden = true
      showState()
    }
  }
  return prompt
}
