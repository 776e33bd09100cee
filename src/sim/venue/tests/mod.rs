//! Venue tests: every rule provoked with its exact code and message.
