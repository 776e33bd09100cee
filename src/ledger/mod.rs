//! The ledger: the ONLY module with SQL. Postgres is the single source of truth for
//! intents, orders, fills, positions, attempts and the budget.
