-- Output tokens a reasoning model spent thinking (OpenAI `completion_tokens_details.
-- reasoning_tokens`, Responses `output_tokens_details.reasoning_tokens`). Already counted in
-- `output_tokens`; recorded apart so `usage` and budgets can show what thinking cost.
-- Old rows read as 0 (unknown or none).
ALTER TABLE llm_calls ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0
    CHECK (reasoning_tokens >= 0);
