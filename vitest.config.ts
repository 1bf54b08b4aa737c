import { defineConfig } from "vitest/config"

/**
 * The files that run the real codex binary (`test/support/CodexBinary.ts`: CODEX_PATH or the pinned one).
 * `npm run test:real` runs only these, so CI can run them again against the previous codex.
 * The examples also run codex, but test the examples, not the protocol: they run with the pinned codex only.
 */
const realBinary = [
  "test/AppServer.test.ts",
  "test/Approvals.test.ts",
  "test/Codex.test.ts",
  "test/CodexTestReplay.test.ts",
  "test/Concurrency.test.ts",
  "test/Lifecycle.test.ts",
  "test/LocalModel.test.ts",
  "test/LocalModelAssistant.test.ts",
  "test/Reliability.test.ts",
  "test/Threads.test.ts",
  "test/Toml.test.ts",
  "test/TurnFailures.test.ts",
  "test/Turns.test.ts",
  "test/WebSocket.test.ts"
]

export default defineConfig({
  test: {
    reporters: ["default", "./test/support/summaryReporter.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: "real", include: realBinary } },
      { extends: true, test: { name: "other", include: ["test/**/*.test.ts"], exclude: realBinary } }
    ]
  }
})
