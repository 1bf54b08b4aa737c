// The dashboard page: tickets, threads, and one turn watched live over Server-Sent Events.
// Plain DOM, no framework, no build step. Every text from the server goes in through textContent.

const $ = (id) => document.getElementById(id)

const el = (tag, attributes = {}, ...children) => {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value
    else if (key === "testid") node.dataset.testid = value
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value)
    else node.setAttribute(key, value)
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child)
  return node
}

const api = async (method, path, body) => {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  if (!response.ok) {
    const text = await response.text()
    let message = text
    try {
      message = JSON.parse(text).error ?? text
    } catch {
      // not JSON: the text itself
    }
    throw new Error(`${response.status}: ${message}`)
  }
  return response.status === 204 ? undefined : response.json()
}

const report = (error) => {
  console.error(error)
  window.alert(String(error.message ?? error))
}

// -----------------------------------------------------------------------------
// Tickets and threads
// -----------------------------------------------------------------------------

let workspace = ""
// Paths inside the workspace, relative to it.
const shortPath = (path) => workspace !== "" && path.startsWith(`${workspace}/`) ? path.slice(workspace.length + 1) : path

const loadInfo = async () => {
  const info = await api("GET", "/api/info")
  workspace = info.workspace
  $("backend").textContent = info.backend
  $("workspace").textContent = info.workspace
}

const loadTickets = async () => {
  const tickets = await api("GET", "/api/tickets")
  $("tickets").replaceChildren(...tickets.map((ticket) => {
    const button = el("button", {
      class: "primary",
      testid: `fix-${ticket.id}`,
      onclick: () => {
        button.disabled = true
        api("POST", `/api/tickets/${encodeURIComponent(ticket.id)}/fix`)
          .then((started) => {
            watch(started.turnId)
            loadThreads()
          })
          .catch(report)
          .finally(() => (button.disabled = false))
      }
    }, "Fix this bug")
    return el(
      "li",
      { class: "card", testid: `ticket-${ticket.id}` },
      el("div", { class: "card-head" }, el("span", { class: "id" }, ticket.id), el("span", { class: "card-title" }, ticket.title)),
      el("p", {}, ticket.body),
      el("div", { class: "labels" }, ...(ticket.labels ?? []).map((label) => el("span", { class: "label" }, label))),
      button
    )
  }))
}

// What the server no longer keeps (it remembers the last runs only, and the events of the last few).
const showKept = (kept) => {
  const notice = $("dropped")
  const parts = []
  if (kept.droppedRuns > 0) {
    parts.push(`${kept.droppedRuns} older run${kept.droppedRuns === 1 ? " was" : "s were"} dropped (the dashboard remembers the last ${kept.limits.runs})`)
  }
  const summaries = kept.runs.filter((run) => run.events === null).length
  if (summaries > 0) {
    parts.push(`${summaries} run${summaries === 1 ? " keeps" : "s keep"} only a summary (events are kept for the last ${kept.limits.runEvents} finished)`)
  }
  notice.hidden = parts.length === 0
  notice.textContent = parts.length === 0 ? "" : `${parts.join("; ")}.`
}

const loadThreads = async () => {
  const [threads, kept] = await Promise.all([api("GET", "/api/threads"), api("GET", "/api/runs")])
  showKept(kept)
  if (threads.length === 0) return
  $("threads").replaceChildren(...threads.map((thread) => {
    const input = el("input", { type: "text", placeholder: "Follow-up prompt", testid: "follow-up-input" })
    const send = el("button", { testid: "follow-up-send", type: "submit" }, "Send")
    const form = el("form", {
      class: "follow-up",
      onsubmit: (event) => {
        event.preventDefault()
        const prompt = input.value.trim()
        if (prompt === "") return
        send.disabled = true
        api("POST", `/api/threads/${encodeURIComponent(thread.threadId)}/turns`, { prompt })
          .then((started) => {
            input.value = ""
            watch(started.turnId)
            loadThreads()
          })
          .catch(report)
          .finally(() => (send.disabled = false))
      }
    }, input, send)
    send.disabled = thread.running
    const dropped = thread.droppedTurns > 0
      ? el("li", { class: "muted", testid: "thread-dropped" }, `${thread.droppedTurns} earlier run${thread.droppedTurns === 1 ? "" : "s"} dropped`)
      : null
    const turns = el("ul", { class: "turns" }, dropped, ...thread.turns.map((turn) =>
      el(
        "li",
        { testid: "thread-turn", "data-turn-id": turn.turnId },
        el("span", { class: `status ${turn.status}` }, turn.status),
        el("span", { class: "prompt", title: turn.prompt }, turn.prompt),
        turn.events ? null : el("span", { class: "muted", testid: "thread-turn-summary", title: "its events were dropped" }, "summary"),
        el("a", { onclick: () => watch(turn.turnId) }, "show")
      )
    ))
    return el(
      "li",
      { class: `card${thread.turns.some((t) => t.turnId === current?.turnId) ? " current" : ""}`, testid: "thread", "data-thread-id": thread.threadId },
      el("div", { class: "card-head" }, el("span", { class: "card-title" }, thread.name), thread.running ? el("span", { class: "status running" }, "running") : null),
      thread.turns.length === 0 ? el("p", {}, thread.preview) : turns,
      form
    )
  }))
}

// -----------------------------------------------------------------------------
// One turn, live
// -----------------------------------------------------------------------------

let current = null // the turn shown: { turnId, source: EventSource, steps: Map<key, timeline element> }

const setStatus = (status) => {
  const badge = $("run-status")
  badge.textContent = status
  badge.className = `status ${status}`
  $("interrupt").disabled = status !== "running"
}

// The timeline element for `key`, made by `make` the first time.
const step = (key, make) => {
  let node = current.steps.get(key)
  if (node === undefined) {
    node = make()
    current.steps.set(key, node)
    $("timeline").append(node)
  }
  return node
}

// A unified diff, or (`every`: "add" / "del") a whole file added or deleted, as codex reports those.
const diffView = (target, diff, every) => {
  target.replaceChildren(...diff.replace(/\n$/, "").split("\n").map((line) => {
    const kind = every !== undefined
      ? every
      : line.startsWith("+++") || line.startsWith("---")
      ? ""
      : line.startsWith("+")
      ? "add"
      : line.startsWith("-")
      ? "del"
      : line.startsWith("@@")
      ? "hunk"
      : ""
    return el("span", { class: kind }, `${line}\n`)
  }))
}

// Answers are Markdown: fenced blocks and `inline code` are shown as code, the rest as text.
const markdown = (target, text) => {
  const parts = text.split("```")
  target.replaceChildren(...parts.map((part, i) => {
    if (i % 2 === 1) return el("pre", {}, el("code", {}, part.replace(/^[\w-]*\n/, "").replace(/\n$/, "")))
    return el("span", {}, ...part.split(/`([^`\n]+)`/).map((piece, j) => (j % 2 === 1 ? el("code", {}, piece) : piece)))
  }))
}

// The answer step of a message item; its Markdown is re-rendered from the text so far.
const answerStep = (itemId) =>
  step(`answer-${itemId}`, () => {
    const node = el("li", { class: "step answer" }, el("span", { class: "kind" }, "answer"), el("div", { class: "answer", testid: "answer" }))
    node.dataset.text = ""
    return node
  })

const handlers = {
  turn: (data) => {
    $("run-title").textContent = data.name
    $("run-prompt").textContent = data.prompt
    setStatus("running")
  },
  reasoning: (data) => {
    const node = step(`reasoning-${data.itemId}`, () =>
      el("li", { class: "step reasoning", testid: "reasoning" }, el("span", { class: "kind" }, "thinking"), el("span", { class: "text" })))
    node.querySelector(".text").append(data.text)
  },
  progress: (data) => {
    $("timeline").append(el("li", { class: "step progress", testid: "progress" }, data.line))
  },
  command: (data) => {
    const node = step(`item-${data.itemId}`, () =>
      el(
        "li",
        { class: "step command", testid: "command" },
        el("span", { class: "kind" }, "command"),
        el("code", {}, `$ ${data.command}`),
        " ",
        el("span", { class: "status" }),
        el("pre", { testid: "command-output" })
      ))
    const status = node.querySelector(".status")
    status.textContent = data.exitCode === null ? data.status : `${data.status}, exit ${data.exitCode}`
    status.className = `status ${data.status}`
    if (data.output !== null) node.querySelector("pre").textContent = data.output
  },
  output: (data) => {
    const node = current.steps.get(`item-${data.itemId}`)
    if (node !== undefined) node.querySelector("pre").append(data.text)
  },
  "file-change": (data) => {
    const node = step(`item-${data.itemId}`, () =>
      el("li", { class: "step file-change", testid: "file-change" }, el("span", { class: "kind" }, "file change"), el("span", { class: "status" }), el("div", { class: "changes" })))
    const status = node.querySelector(".status")
    status.textContent = data.status
    status.className = `status ${data.status}`
    node.querySelector(".changes").replaceChildren(...data.changes.map((change) => {
      const pre = el("pre", { class: "diff" })
      diffView(pre, change.diff, change.kind === "add" ? "add" : change.kind === "delete" ? "del" : undefined)
      return el("div", {}, el("code", {}, `${change.kind} ${shortPath(change.path)}`), pre)
    }))
  },
  approval: (data) => {
    const key = `approval-${JSON.stringify(data.requestId)}`
    const answer = (decision) => {
      for (const button of node.querySelectorAll("button")) button.disabled = true
      api("POST", `/api/turns/${encodeURIComponent(current.turnId)}/approvals`, { requestId: data.requestId, decision }).catch(report)
    }
    const node = step(key, () =>
      el(
        "li",
        { class: "step approval", testid: "approval" },
        el("span", { class: "kind" }, data.kind === "command" ? "approval: run a command" : "approval: change files"),
        el("div", {}, data.reason ?? ""),
        data.command ? el("pre", {}, `$ ${data.command}${data.cwd ? `\n(in ${data.cwd})` : ""}`) : null,
        el(
          "div",
          { class: "actions" },
          el("button", { class: "ok", testid: "accept", onclick: () => answer("accept") }, "Accept"),
          el("button", { testid: "decline", onclick: () => answer("decline") }, "Decline")
        )
      ))
  },
  "approval-resolved": (data) => {
    // Twice for an answer given here: with the decision (from the server) and without (codex settled it), in either order.
    const node = current.steps.get(`approval-${JSON.stringify(data.requestId)}`)
    if (node === undefined) return
    let outcome = node.querySelector("[data-testid=approval-outcome]")
    if (outcome === null) {
      outcome = el("div", { class: "muted", testid: "approval-outcome" }, "resolved")
      node.querySelector(".actions").replaceWith(outcome)
    }
    if (data.decision !== undefined) outcome.textContent = data.decision === "accept" ? "accepted" : "declined"
  },
  delta: (data) => {
    const node = answerStep(data.itemId)
    node.dataset.text += data.text
    markdown(node.querySelector(".answer"), node.dataset.text)
  },
  message: (data) => {
    const node = answerStep(data.itemId)
    node.dataset.text = data.text
    markdown(node.querySelector(".answer"), data.text)
  },
  "events-dropped": (data) => {
    $("timeline").append(el(
      "li",
      { class: "step progress", testid: "events-dropped" },
      `The ${data.events} events of this run were dropped (the dashboard keeps the events of the last ${data.keepRunEvents} finished runs): its summary follows.`
    ))
  },
  diff: () => {},
  usage: () => {},
  done: (data) => {
    current.source.close() // else EventSource reconnects to a stream that has ended
    setStatus(data.status)
    for (const actions of $("timeline").querySelectorAll(".approval .actions")) {
      actions.replaceWith(el("div", { class: "muted", testid: "approval-outcome" }, "the turn ended"))
    }
    $("final").hidden = false
    if (data.finalResponse !== null) markdown($("final-answer"), data.finalResponse)
    else $("final-answer").textContent = data.error ? `Failed: ${data.error}` : "(no answer)"
    if (data.diff === null) $("final-diff").textContent = "(dropped with the run's events)"
    else diffView($("final-diff"), data.diff === "" ? "(no file changed)" : data.diff)
    const meta = []
    if (data.durationMs != null) meta.push(`${(data.durationMs / 1000).toFixed(1)} s`)
    if (data.usage != null) meta.push(`${data.usage} tokens`)
    $("final-meta").textContent = meta.join(" · ")
    loadThreads().catch(report)
  }
}

const watch = (turnId) => {
  if (current !== null) current.source.close()
  $("empty").hidden = true
  $("run").hidden = false
  $("run").dataset.turnId = turnId
  $("timeline").replaceChildren()
  $("final").hidden = true
  $("run-title").textContent = ""
  $("run-prompt").textContent = ""
  setStatus("running")
  // The server replays the turn from its first event, so a turn that ended shows in full.
  const source = new EventSource(`/api/turns/${encodeURIComponent(turnId)}/events`)
  current = { turnId, source, steps: new Map() }
  const mine = current
  for (const [name, handle] of Object.entries(handlers)) {
    source.addEventListener(name, (event) => {
      if (current !== mine) return
      handle(JSON.parse(event.data))
    })
  }
  for (const card of $("threads").querySelectorAll(".card")) card.classList.remove("current")
}

$("interrupt").addEventListener("click", () => {
  if (current === null) return
  $("interrupt").disabled = true
  api("POST", `/api/turns/${encodeURIComponent(current.turnId)}/interrupt`).catch(report)
})

Promise.all([loadInfo(), loadTickets(), loadThreads()]).catch(report)
