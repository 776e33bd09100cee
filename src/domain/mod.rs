//! Pure vocabulary shared by every part of sluice.
//!
//! Nothing here does I/O or imports sqlx/reqwest/tokio. Values are parsed at the
//! boundary into newtypes with private fields (`Qty::parse`, `ClientOrderId::new`),
//! so a raw string or a bare `Decimal` never crosses a module line unchecked.

pub(crate) mod checked;
pub(crate) mod error;
pub(crate) mod expiry;
pub(crate) mod fill;
pub(crate) mod ids;
pub(crate) mod intent;
pub(crate) mod limit;
pub(crate) mod num;
pub(crate) mod order;
pub(crate) mod order_state;
pub(crate) mod protection;
pub(crate) mod rules;
pub(crate) mod side;
pub(crate) mod symbol;

pub use checked::FilterViolation;
pub use checked::{validate, FilterChecked};
pub use error::DomainError;
pub(crate) use expiry::AfterExpiry;
pub use expiry::{ExpireReason, SelfTradePrevention};
pub use fill::Fill;
pub use ids::{IntentId, OrderId, PositionId};
pub use intent::{IntentKind, IntentSpec, IntentState, OpenSize};
pub use limit::{LimitPrice, LimitTerms, LimitTif, PriceMatch};
pub(crate) use num::two_decimals;
pub use num::{Price, Qty, Usdt};
pub use order::{ClientOrderId, OrderRequest, OrderStatus, OrderType, TimeInForce};
pub use order_state::OrderState;
pub use protection::Protection;
pub use protection::{ProtectionKind, WorkingType};
pub(crate) use protection::{ProtectionLeg, TriggerSpec};
pub use rules::{floor_to_step, LotFilter, PercentPrice, PriceFilter, SymbolRules};
pub use side::{Direction, PositionMode, PositionSide, Side};
pub use symbol::Symbol;
