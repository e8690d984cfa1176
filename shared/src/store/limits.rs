//! Rate-limit counters: a standalone atomic `ADD`, or the same check as one operation of a
//! transaction (condition: every counter still below its limit).

use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem};

use super::{key, n, names, sdk_error, tx_update, ItemExt, Store, Vals};
use crate::error::Result;
use crate::limits::Limit;

/// `ADD #c0 :one, #c1 :one SET #ttl = :ttl` and the name map for it.
fn add_expression(limit: &Limit) -> (String, Vec<(String, String)>) {
    let mut names = vec![("#ttl".to_string(), "ttl".to_string())];
    let mut adds = Vec::new();
    for (i, c) in limit.add.iter().enumerate() {
        names.push((format!("#a{i}"), c.attr.clone()));
        adds.push(format!("#a{i} :one"));
    }
    for (i, c) in limit.guard.iter().enumerate() {
        names.push((format!("#g{i}"), c.attr.clone()));
    }
    (format!("ADD {} SET #ttl = :ttl", adds.join(", ")), names)
}

impl Store {
    /// Bumps the limit's counters and judges them. One `UpdateItem`.
    pub async fn hit(&self, limit: &Limit) -> Result<()> {
        let (expr, name_pairs) = add_expression(limit);
        // guard names are not used by this expression; DynamoDB rejects unused names
        let name_pairs: Vec<_> = name_pairs.into_iter().filter(|(k, _)| !k.starts_with("#g")).collect();
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&limit.pk, &limit.sk)))
            .update_expression(expr)
            .set_expression_attribute_names(Some(name_pairs.into_iter().collect()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(limit.ttl))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem(limit)", e))?;
        let item = out.attributes.unwrap_or_default();
        limit.judge(|attr| item.num::<u64>(attr).unwrap_or(0))
    }

    /// The same limit as one transaction operation: it fails (and cancels the transaction)
    /// when any counter is already at its limit.
    pub(crate) fn limit_op(&self, limit: &Limit) -> TransactWriteItem {
        let (expr, name_pairs) = add_expression(limit);
        let mut vals = Vals::new().n(":one", 1).n(":ttl", limit.ttl);
        let mut conds = Vec::new();
        for (i, c) in limit.add.iter().enumerate() {
            conds.push(format!("(attribute_not_exists(#a{i}) OR #a{i} < :l{i})"));
            vals = vals.n(&format!(":l{i}"), c.limit);
        }
        for (i, c) in limit.guard.iter().enumerate() {
            conds.push(format!("(attribute_not_exists(#g{i}) OR #g{i} < :gl{i})"));
            vals = vals.n(&format!(":gl{i}"), c.limit);
        }
        let pairs: Vec<(&str, &str)> = name_pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        tx_update(&self.table, key(&limit.pk, &limit.sk), &expr, Some(&conds.join(" AND ")), names(&pairs), vals)
    }
}
