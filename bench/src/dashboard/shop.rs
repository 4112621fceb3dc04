//! The service the dashboard's load run serves: a small shop whose methods
//! take about as long as real ones would (a price from memory, a search of
//! a few milliseconds, a checkout of tens), fail the way real ones do
//! (a quantity of zero, a declined payment), and push deals to a group.
//!
//! The client chooses each call's `seed`: it sets how long the call takes
//! and whether a payment is declined, so the load decides the shape of the
//! run and the server stays a plain service.

use std::time::Duration;

use rpc_server::{RpcContext, RpcError, rpc_service};

/// The group every `deals` caller joins and `announce` broadcasts to.
pub const DEALS: &str = "deals";

/// The application error of a declined payment.
pub const DECLINED: i32 = 1001;

/// The shop.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shop;

#[rpc_service(title = "Shop")]
impl Shop {
    /// An item's price, from memory.
    fn price(&self, item: u32) -> u64 {
        u64::from(item) * 100 + 99
    }

    /// A catalogue search: 2 to 12 ms.
    async fn search(&self, query: String, seed: u64) -> Vec<String> {
        tokio::time::sleep(Duration::from_millis(2 + seed % 11)).await;
        (1..=3).map(|n| format!("{query} {n}")).collect()
    }

    /// Adds an item to the cart; a quantity of zero is invalid params.
    #[rpc(name = "cart.add")]
    fn cart_add(&self, item: u32, quantity: u32) -> Result<u32, RpcError> {
        if quantity == 0 {
            return Err(RpcError::invalid_params("quantity must be at least 1"));
        }
        Ok(item.wrapping_add(quantity))
    }

    /// Pays for a cart: 20 to 70 ms; declined when `seed` is a multiple of
    /// 100.
    async fn checkout(&self, cart: u32, seed: u64) -> Result<String, RpcError> {
        tokio::time::sleep(Duration::from_millis(20 + seed % 51)).await;
        if seed.is_multiple_of(100) {
            return Err(RpcError::new(DECLINED, "payment declined"));
        }
        Ok(format!("order {cart}-{seed}"))
    }

    /// Joins the deals group.
    fn deals(&self, ctx: &RpcContext) -> Result<(), RpcError> {
        ctx.join(DEALS)
    }

    /// Broadcasts `text` to the deals group (every instance's members).
    fn announce(&self, ctx: &RpcContext, text: String) -> Result<(), RpcError> {
        let peer = ctx.peer().ok_or_else(|| RpcError::application("no peer"))?;
        peer.notify_group(DEALS, "deal", [text])?;
        Ok(())
    }
}
