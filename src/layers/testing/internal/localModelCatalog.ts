/**
 * The one-model catalog `LocalModel` writes for `model_catalog_json` (from the captured protocol notes'
 * `mock_catalog.json`). It gives the mock model a context window and the freeform `apply_patch` tool,
 * which codex only offers to models whose catalog entry asks for it.
 *
 * @internal
 */
const BASE_MODEL = {
  "slug": "mock-model",
  "prefer_websockets": false,
  "support_verbosity": true,
  "default_verbosity": "low",
  "apply_patch_tool_type": "freeform",
  "web_search_tool_type": "text_and_image",
  "input_modalities": [
    "text",
    "image"
  ],
  "supports_image_detail_original": true,
  "truncation_policy": {
    "mode": "tokens",
    "limit": 10000
  },
  "supports_parallel_tool_calls": true,
  "tool_mode": null,
  "multi_agent_version": null,
  "multi_agent_reasoning_effort": null,
  "use_responses_lite": false,
  "supports_reasoning_effort_updates": false,
  "include_skills_usage_instructions": false,
  "include_apps_usage_instructions": false,
  "include_plugin_usage_instructions": false,
  "guardian": null,
  "node_repl_auto_review_required": false,
  "node_repl_disabled": false,
  "requires_sandboxed_review": false,
  "auto_review_model_override": null,
  "model_specialty": null,
  "context_window": 128000,
  "max_context_window": 128000,
  "auto_compact_token_limit": null,
  "comp_hash": "2911",
  "default_reasoning_summary": "none",
  "display_name": "Mock Model",
  "description": "Local mock model",
  "default_reasoning_level": "low",
  "supported_reasoning_levels": [
    {
      "effort": "low",
      "description": "low"
    },
    {
      "effort": "medium",
      "description": "medium"
    }
  ],
  "shell_type": "shell_command",
  "visibility": "list",
  "minimal_client_version": "0.1.0",
  "supported_in_api": true,
  "availability_nux": null,
  "upgrade": null,
  "priority": 1,
  "model_messages": null,
  "experimental_supported_tools": [],
  "available_in_plans": [],
  "supports_search_tool": true,
  "supports_experimental_context": false,
  "default_service_tier": null,
  "service_tiers": [],
  "additional_speed_tiers": [],
  "supports_reasoning_summary_parameter": true,
  "supports_reasoning_summaries": true,
  "base_instructions": "You are a mock coding agent used for protocol tests."
}

export const makeCatalog = (options: { readonly slug: string; readonly contextWindow: number }) => ({
  models: [{
    ...BASE_MODEL,
    slug: options.slug,
    context_window: options.contextWindow,
    max_context_window: options.contextWindow
  }]
})
