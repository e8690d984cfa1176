//! The one DynamoDB store layer: every read and write of the service goes through here.
//!
//! One table, `pk` + `sk` strings, TTL attribute `ttl` (epoch seconds), one GSI `gsi1`.
//! Items (`pk` / `sk`):
//!
//! | item | pk | sk |
//! |---|---|---|
//! | API key (digest only) | `KEY#<sha256>` | `KEY` |
//! | bot | `BOTS` | `BOT#<id>` |
//! | public key record | `PUBKEYS` | `PUBKEY#<id>` |
//! | id counters | `COUNTER` | `USER` / `BOT` / `PUBKEY` |
//! | user (links map inside; `gsi1pk = UNAME#<lowercase name>`) | `USER#<id>` | `PROFILE` |
//! | user's session index | `USER#<id>` | `SESSION#<sha256>` |
//! | username uniqueness | `USERNAME#<lowercase>` | `USERNAME` |
//! | identity → user (+ mirror of the user's state) | `IDENTITY#<platform>#<id>` | `LINK` |
//! | live web code of an identity (+ bot-reported profile) | `IDENTITY#…` | `WEBCODE` |
//! | live bot code of an identity | `IDENTITY#…` | `BOTCODE` |
//! | code → identity | `CODE#<code>` | `CODE` |
//! | pending-code slots of an IP | `IP#<ip>` | `SLOT#<n>` |
//! | session (digest only) | `SESSION#<sha256>` | `SESSION` |
//! | rate-limit window | `LIMIT#…` | `W#<window start>` |
//!
//! Every item that should die carries `ttl`; every read that decides something compares
//! `expires_at` with the clock itself, because TTL deletion is lazy.

mod admin;
mod codes;
mod keys;
mod limits;
mod sessions;
mod users;

pub use admin::*;
pub use codes::*;

pub use sessions::*;
pub use users::*;

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::StalledStreamProtectionConfig;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CancellationReason, Delete, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    Projection, ProjectionType, Put, ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TimeToLiveSpecification,
    TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use serde::Deserialize;

pub use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::Error;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// The table and the client that reaches it. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// The Amazon Trust Services roots (Amazon Root CA 1–4, valid to 2038–2040, and the Starfield
/// Services Root G2 that cross-signs them): every AWS service endpoint chains to one of them.
const AWS_ROOTS_PEM: &[u8] = include_bytes!("aws-roots.pem");

/// Builds the DynamoDB client from the standard AWS environment (region, credentials,
/// `AWS_ENDPOINT_URL` for DynamoDB Local), with rustls on ring, short timeouts and one
/// retry, so a dead or slow database turns into a 503 well inside the function timeout.
pub async fn client_from_env() -> Client {
    client_with_endpoint(None).await
}

/// [`client_from_env`], with the endpoint replaced (tests: a fresh DynamoDB Local, a dead port).
pub async fn client_with_endpoint(endpoint: Option<&str>) -> Client {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext, TrustStore};
    // Only the roots AWS endpoints chain to: reading and parsing the system's ~150 roots was
    // most of the start-up time of a function (see BENCHMARKS.md).
    let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(AWS_ROOTS_PEM);
    let tls = TlsContext::builder().with_trust_store(trust).build().expect("the bundled roots parse");
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls)
        .build_https();
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(1_000))
        .operation_attempt_timeout(Duration::from_millis(2_000))
        .operation_timeout(Duration::from_millis(3_500))
        .build();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    let shared = loader
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        // the timeouts above already bound a stalled response; the per-request watchdog only costs CPU
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .load()
        .await;
    Client::new(&shared)
}

// ---------------------------------------------------------------------------------------
// The table definition: `shared/table.json` is the single source; template.yaml is checked
// against it by `scripts/check_project.py`.

pub const TABLE_DEFINITION_JSON: &str = include_str!("../../table.json");

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableDef {
    attribute_definitions: Vec<AttrDef>,
    key_schema: Vec<KeyDef>,
    global_secondary_indexes: Vec<GsiDef>,
    time_to_live_specification: TtlDef,
}
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttrDef {
    attribute_name: String,
    attribute_type: String,
}
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyDef {
    attribute_name: String,
    key_type: String,
}
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GsiDef {
    index_name: String,
    key_schema: Vec<KeyDef>,
}
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TtlDef {
    attribute_name: String,
}

fn key_schema(defs: &[KeyDef]) -> Result<Vec<KeySchemaElement>, Error> {
    defs.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| Error::internal(e.to_string()))
        })
        .collect()
}

impl Store {
    /// Creates the table (and enables TTL) unless it exists. Returns true if it was created.
    pub async fn create_table(&self) -> Result<bool, Error> {
        let def: TableDef = serde_json::from_str(TABLE_DEFINITION_JSON).map_err(|e| Error::internal(e.to_string()))?;
        let mut req = self.client.create_table().table_name(&self.table).billing_mode(BillingMode::PayPerRequest);
        for a in &def.attribute_definitions {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build()
                    .map_err(|e| Error::internal(e.to_string()))?,
            );
        }
        req = req.set_key_schema(Some(key_schema(&def.key_schema)?));
        for g in &def.global_secondary_indexes {
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&g.index_name)
                    .set_key_schema(Some(key_schema(&g.key_schema)?))
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()
                    .map_err(|e| Error::internal(e.to_string()))?,
            );
        }
        match req.send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => return Ok(false),
            Err(e) => return Err(sdk_error("CreateTable", e)),
        }
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(&def.time_to_live_specification.attribute_name)
                    .enabled(true)
                    .build()
                    .map_err(|e| Error::internal(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| sdk_error("UpdateTimeToLive", e))?;
        Ok(true)
    }

    pub async fn delete_table(&self) -> Result<(), Error> {
        self.client.delete_table().table_name(&self.table).send().await.map_err(|e| sdk_error("DeleteTable", e))?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Errors

const UNAVAILABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
];

/// Maps an SDK failure: unreachable, slow or throttled → 503; anything else → 500.
/// The cause names the operation and the SDK's error chain (which never holds our secrets:
/// requests are not echoed in DynamoDB error messages).
pub(crate) fn sdk_error<E, R>(op: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let unavailable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(se) => se.err().code().is_some_and(|c| UNAVAILABLE_CODES.contains(&c)),
        _ => false,
    };
    let cause = format!("{op}: {}", DisplayErrorContext(&err));
    if unavailable {
        Error::Unavailable { cause }
    } else {
        Error::Internal { cause }
    }
}

/// The outcome of a `TransactWriteItems` call.
pub(crate) enum TxnError {
    /// Cancelled: one reason per operation, in order (`None` = that one was fine).
    Cancelled(Vec<Reason>),
    Failed(Error),
}

#[derive(Debug, Clone)]
pub(crate) struct Reason {
    pub code: Option<String>,
    pub item: Option<Item>,
}

impl Reason {
    pub fn condition_failed(&self) -> bool {
        self.code.as_deref() == Some("ConditionalCheckFailed")
    }
}

impl TxnError {
    /// Index of the first operation whose condition failed.
    pub fn failed_condition(&self) -> Option<usize> {
        match self {
            TxnError::Cancelled(r) => r.iter().position(Reason::condition_failed),
            TxnError::Failed(_) => None,
        }
    }
}

/// What a failed condition means, by the role of the operation that carried it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Limit,
    User,
    NewCode,
    ConsumedCode,
    Link,
    Username,
}

impl TxnError {
    /// Maps a cancelled transaction to the domain's [`WriteConflict`]: the role of the failed
    /// operation decides; an unlisted failure or a conflict means "read again and retry".
    pub(crate) fn conflict(self, roles: &[(usize, Role)]) -> WriteConflict {
        let failed = self.failed_condition();
        let role = failed.and_then(|i| roles.iter().find(|(j, _)| *j == i)).map(|(_, r)| *r);
        match (role, self) {
            (Some(Role::Limit), _) => WriteConflict::Limited,
            (Some(Role::User), TxnError::Cancelled(r)) => WriteConflict::User(failed.and_then(|i| r[i].item.clone())),
            (Some(Role::NewCode), _) => WriteConflict::Collision,
            (Some(Role::ConsumedCode), _) => WriteConflict::CodeGone,
            (Some(Role::Link), _) => WriteConflict::LinkExists,
            (Some(Role::Username), _) => WriteConflict::UsernameTaken,
            (_, TxnError::Failed(err)) => WriteConflict::Failed(err),
            _ => WriteConflict::Contention,
        }
    }
}

impl Store {
    pub(crate) async fn transact(&self, ops: Vec<TransactWriteItem>) -> Result<(), TxnError> {
        match self.client.transact_write_items().set_transact_items(Some(ops)).send().await {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(tc)) => {
                    Err(TxnError::Cancelled(tc.cancellation_reasons().iter().map(reason).collect()))
                }
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => Err(TxnError::Cancelled(vec![])),
                _ => Err(TxnError::Failed(sdk_error("TransactWriteItems", e))),
            },
        }
    }
}

fn reason(r: &CancellationReason) -> Reason {
    Reason { code: r.code().map(str::to_string), item: r.item().cloned() }
}

// ---------------------------------------------------------------------------------------
// Item helpers

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

/// A key item as the `(pk, sk)` pair that [`Store::batch_get`] answers by.
pub(crate) fn key_pair(k: &Item) -> (String, String) {
    (k.string("pk"), k.string("sk"))
}

pub(crate) trait ItemExt {
    fn str(&self, name: &str) -> Option<&str>;
    fn num<T: FromStr>(&self, name: &str) -> Option<T>;
    fn boolean(&self, name: &str) -> Option<bool>;
    fn map(&self, name: &str) -> Option<&Item>;
    fn string(&self, name: &str) -> String {
        self.str(name).unwrap_or_default().to_string()
    }
    fn opt_string(&self, name: &str) -> Option<String> {
        self.str(name).map(str::to_string)
    }
}

impl ItemExt for Item {
    fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
    }
    fn num<T: FromStr>(&self, name: &str) -> Option<T> {
        self.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
    }
    fn boolean(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(|v| v.as_bool().ok()).copied()
    }
    fn map(&self, name: &str) -> Option<&Item> {
        self.get(name).and_then(|v| v.as_m().ok())
    }
}

/// Small builder for expression attribute values (`:name` → value).
#[derive(Default)]
pub(crate) struct Vals(Item);

impl Vals {
    pub fn new() -> Self {
        Vals(HashMap::new())
    }
    pub fn s(mut self, name: &str, v: impl Into<String>) -> Self {
        self.0.insert(name.to_string(), s(v));
        self
    }
    pub fn n(mut self, name: &str, v: impl ToString) -> Self {
        self.0.insert(name.to_string(), n(v));
        self
    }
    pub fn v(mut self, name: &str, v: AttributeValue) -> Self {
        self.0.insert(name.to_string(), v);
        self
    }
    pub fn into_option(self) -> Option<Item> {
        (!self.0.is_empty()).then_some(self.0)
    }
}

pub(crate) fn names(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    (!pairs.is_empty()).then(|| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

/// A `Put` in a transaction, with an optional condition.
pub(crate) fn tx_put(table: &str, item: Item, cond: Option<&str>, vals: Vals) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(cond.map(str::to_string))
        .set_expression_attribute_values(vals.into_option())
        .build()
        .expect("table and item are set");
    TransactWriteItem::builder().put(put).build()
}

/// A `Delete` in a transaction, with an optional condition.
pub(crate) fn tx_delete(table: &str, key: Item, cond: Option<&str>, vals: Vals) -> TransactWriteItem {
    let del = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .set_condition_expression(cond.map(str::to_string))
        .set_expression_attribute_values(vals.into_option())
        .build()
        .expect("table and key are set");
    TransactWriteItem::builder().delete(del).build()
}

/// An `Update` in a transaction; on a failed condition the old item comes back.
pub(crate) fn tx_update(
    table: &str,
    key: Item,
    expr: &str,
    cond: Option<&str>,
    names: Option<HashMap<String, String>>,
    vals: Vals,
) -> TransactWriteItem {
    let upd = Update::builder()
        .table_name(table)
        .set_key(Some(key))
        .update_expression(expr)
        .set_condition_expression(cond.map(str::to_string))
        .set_expression_attribute_names(names)
        .set_expression_attribute_values(vals.into_option())
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .expect("table, key and expression are set");
    TransactWriteItem::builder().update(upd).build()
}

impl Store {
    /// Strongly consistent GetItem.
    pub(crate) async fn get(&self, key: Item) -> Result<Option<Item>, Error> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        Ok(out.item)
    }

    /// Strongly consistent BatchGetItem of up to 100 keys (unprocessed keys are retried).
    /// Returns the items found, keyed by `(pk, sk)`.
    pub(crate) async fn batch_get(&self, keys: Vec<Item>) -> Result<HashMap<(String, String), Item>, Error> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = HashMap::new();
        let mut pending = keys;
        for attempt in 0..5 {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
            }
            let ka = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| Error::internal(e.to_string()))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, ka)
                .send()
                .await
                .map_err(|e| sdk_error("BatchGetItem", e))?;
            for item in out.responses.unwrap_or_default().remove(&self.table).unwrap_or_default() {
                found.insert(key_pair(&item), item);
            }
            if let Some(mut rest) = out.unprocessed_keys {
                if let Some(ka) = rest.remove(&self.table) {
                    pending = ka.keys;
                }
            }
        }
        if !pending.is_empty() {
            return Err(Error::Unavailable { cause: "BatchGetItem: unprocessed keys after retries".into() });
        }
        Ok(found)
    }

    /// Strongly consistent Query of a whole partition (optionally a sort-key prefix).
    pub(crate) async fn query_partition(&self, pk: &str, sk_prefix: Option<&str>) -> Result<Vec<Item>, Error> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .expression_attribute_values(":pk", s(pk))
                .set_exclusive_start_key(start.take());
            req = match sk_prefix {
                Some(p) => req
                    .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                    .expression_attribute_values(":p", s(p)),
                None => req.key_condition_expression("pk = :pk"),
            };
            let out = req.send().await.map_err(|e| sdk_error("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(items)
    }
}
pub(crate) use users::user_from_item as user_from_stored;
