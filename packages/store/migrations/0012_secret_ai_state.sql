-- AI key health per secret and the Azure OpenAI resource endpoint per secret version.
-- ai_state: 'active' (usable), 'invalid' (the provider refused the key: no upstream call until a
-- new version is stored), 'suspended' (tenant policy, e.g. after a spend spike). Storing a new
-- version resets it to 'active' (secret-repository putVersion).
ALTER TABLE secrets
  ADD COLUMN ai_state text NOT NULL DEFAULT 'active' CHECK (ai_state IN ('active', 'invalid', 'suspended')),
  ADD COLUMN ai_state_reason text CHECK (ai_state_reason IS NULL OR length(ai_state_reason) <= 200),
  ADD COLUMN ai_state_since timestamptz;

-- Only for kind 'azure-openai': https://<resource>.openai.azure.com or .cognitiveservices.azure.com.
ALTER TABLE secret_versions
  ADD COLUMN endpoint text CHECK (endpoint IS NULL OR length(endpoint) <= 300);
