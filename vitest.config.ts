import { defineConfig } from "vitest/config"

// Tests by ring: test/unit (pure, seconds), test/memory (CodexTest, in-memory transports),
// test/real (the codex binary + LocalModel; `CODEX_PATH` picks another binary, see test/support/CodexBinary.ts).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "./test/support/summaryReporter.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
