-- A service plan's price: charged once per enrollment made under it (docs/progress.md, revenue_per_plan).
-- Minor units (cents) and an ISO 4217 code; both or neither (a plan without a price bills nothing).
ALTER TABLE service_plans
    ADD COLUMN price_cents bigint CHECK (price_cents BETWEEN 0 AND 100000000000),
    ADD COLUMN currency text CHECK (currency ~ '^[A-Z]{3}$'),
    ADD CONSTRAINT service_plans_price_has_currency CHECK ((price_cents IS NULL) = (currency IS NULL));
