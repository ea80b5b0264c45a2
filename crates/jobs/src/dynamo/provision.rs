//! Creating the two tables, idempotently.
//!
//! For emulators and trials (`gas provision`); Terraform stays the production
//! path and must describe the same layout:
//! - jobs table: key `job_id` (S); GSI [`USER_ID_INDEX`] with partition
//!   `user_id` (S), sort `submit_time` (N), projection ALL;
//! - users table: key `user_id` (S), holding user items and guard items;
//!   time to live on the attribute [`TTL_ATTRIBUTE`], which only sessions
//!   have, so DynamoDB deletes sessions that ran out.
//!
//! Both are on-demand (PAY_PER_REQUEST). An existing table is kept when its
//! key is the expected one (anything else is an error, not a silent
//! mismatch); a jobs table without the GSI gets it added, a users table
//! without time to live gets it turned on. Time to live on another attribute
//! is left alone with a warning: DynamoDB takes an hour to turn it off, and
//! sessions end at their expiry without it (they are only not reaped).

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TableDescription, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;

use super::error::{build_failed, request_failed, DynamoError};
use super::USER_ID_INDEX;
use crate::StoreError;

/// How long tables and the index may take to become ACTIVE. DynamoDB
/// backfills a GSI added to a large table for minutes.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The users table's time-to-live attribute: epoch seconds after which
/// DynamoDB may delete the item (within days, not at once).
pub(super) const TTL_ATTRIBUTE: &str = "ttl";

/// Creates the jobs table (with its GSI) and the users table if missing and
/// waits until both, and the GSI, are ACTIVE. Safe to run any number of times,
/// also concurrently.
pub async fn provision(
    client: &Client,
    jobs_table: &str,
    users_table: &str,
) -> Result<(), StoreError> {
    ensure_jobs_table(client, jobs_table).await?;
    ensure_users_table(client, users_table).await?;
    wait_until_active(client, jobs_table, Some(USER_ID_INDEX)).await?;
    wait_until_active(client, users_table, None).await?;
    ensure_time_to_live(client, users_table).await?;
    tracing::info!(jobs_table, users_table, "DynamoDB tables ready");
    Ok(())
}

async fn ensure_jobs_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let Some(desc) = describe(client, table).await? else {
        let request = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute(table, "job_id", ScalarAttributeType::S)?)
            .attribute_definitions(attribute(table, "user_id", ScalarAttributeType::S)?)
            .attribute_definitions(attribute(table, "submit_time", ScalarAttributeType::N)?)
            .key_schema(key(table, "job_id", KeyType::Hash)?)
            .global_secondary_indexes(user_index(table)?);
        return create(table, request).await;
    };
    expect_keys(table, desc.key_schema(), "job_id", None)?;
    match desc
        .global_secondary_indexes()
        .iter()
        .find(|i| i.index_name() == Some(USER_ID_INDEX))
    {
        Some(index) => expect_keys(table, index.key_schema(), "user_id", Some("submit_time")),
        None => add_user_index(client, table).await,
    }
}

async fn ensure_users_table(client: &Client, table: &str) -> Result<(), StoreError> {
    match describe(client, table).await? {
        Some(desc) => expect_keys(table, desc.key_schema(), "user_id", None),
        None => {
            let request = client
                .create_table()
                .table_name(table)
                .billing_mode(BillingMode::PayPerRequest)
                .attribute_definitions(attribute(table, "user_id", ScalarAttributeType::S)?)
                .key_schema(key(table, "user_id", KeyType::Hash)?);
            create(table, request).await
        }
    }
}

/// Turns the users table's time to live on for [`TTL_ATTRIBUTE`] unless it
/// is on already (DynamoDB refuses to turn it on twice).
async fn ensure_time_to_live(client: &Client, table: &str) -> Result<(), StoreError> {
    let (status, attribute) = time_to_live(client, table).await?;
    match (&status, attribute.as_deref()) {
        (Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling), Some(TTL_ATTRIBUTE)) => {
            return Ok(())
        }
        (None | Some(TimeToLiveStatus::Disabled), _) => {}
        (status, attribute) => {
            tracing::warn!(
                table,
                ?status,
                attribute,
                expected = TTL_ATTRIBUTE,
                "time to live is set up otherwise; expired sessions stay until deleted"
            );
            return Ok(());
        }
    }
    let spec = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(TTL_ATTRIBUTE)
        .build()
        .map_err(|e| build_failed("UpdateTimeToLive", table, e))?;
    let result = client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await;
    match result {
        Ok(_) => {
            tracing::info!(table, attribute = TTL_ATTRIBUTE, "time to live turned on");
            Ok(())
        }
        Err(err) => {
            // Another provisioner may have turned it on meanwhile.
            let (status, attribute) = time_to_live(client, table).await?;
            match (status, attribute.as_deref()) {
                (
                    Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling),
                    Some(TTL_ATTRIBUTE),
                ) => Ok(()),
                _ => Err(request_failed("UpdateTimeToLive", table, err)),
            }
        }
    }
}

/// The table's time-to-live status and attribute, as DescribeTimeToLive
/// reports them.
async fn time_to_live(
    client: &Client,
    table: &str,
) -> Result<(Option<TimeToLiveStatus>, Option<String>), StoreError> {
    let out = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| request_failed("DescribeTimeToLive", table, e))?;
    let description = out.time_to_live_description;
    Ok((
        description
            .as_ref()
            .and_then(|d| d.time_to_live_status().cloned()),
        description.and_then(|d| d.attribute_name),
    ))
}

/// Sends a CreateTable; a table created meanwhile by someone else is fine.
async fn create(table: &str, request: CreateTableFluentBuilder) -> Result<(), StoreError> {
    match request.send().await {
        Ok(_) => {
            tracing::info!(table, "created DynamoDB table");
            Ok(())
        }
        Err(err) => match err.as_service_error() {
            Some(CreateTableError::ResourceInUseException(_)) => Ok(()),
            _ => Err(request_failed("CreateTable", table, err)),
        },
    }
}

/// Adds the GSI to an existing jobs table (once the table is ACTIVE).
async fn add_user_index(client: &Client, table: &str) -> Result<(), StoreError> {
    wait_until_active(client, table, None).await?;
    let action = CreateGlobalSecondaryIndexAction::builder()
        .index_name(USER_ID_INDEX)
        .key_schema(key(table, "user_id", KeyType::Hash)?)
        .key_schema(key(table, "submit_time", KeyType::Range)?)
        .projection(all_attributes())
        .build()
        .map_err(|e| build_failed("UpdateTable", table, e))?;
    client
        .update_table()
        .table_name(table)
        .attribute_definitions(attribute(table, "user_id", ScalarAttributeType::S)?)
        .attribute_definitions(attribute(table, "submit_time", ScalarAttributeType::N)?)
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder().create(action).build(),
        )
        .send()
        .await
        .map_err(|e| request_failed("UpdateTable", table, e))?;
    tracing::info!(
        table,
        index = USER_ID_INDEX,
        "adding the GSI to an existing table"
    );
    Ok(())
}

/// Polls DescribeTable until the table (and `index`, if named) is ACTIVE.
async fn wait_until_active(
    client: &Client,
    table: &str,
    index: Option<&str>,
) -> Result<(), StoreError> {
    let deadline = Instant::now() + ACTIVE_TIMEOUT;
    let mut delay = Duration::from_millis(50);
    loop {
        // A table just created may not be described yet: keep waiting.
        if let Some(desc) = describe(client, table).await? {
            if is_active(&desc, index) {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            return Err(DynamoError::Table {
                table: table.to_string(),
                problem: format!(
                    "not ACTIVE after {}s (index: {})",
                    ACTIVE_TIMEOUT.as_secs(),
                    index.unwrap_or("none")
                ),
            }
            .into());
        }
        tracing::debug!(table, ?delay, "waiting for the table to become ACTIVE");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

fn is_active(desc: &TableDescription, index: Option<&str>) -> bool {
    if desc.table_status() != Some(&TableStatus::Active) {
        return false;
    }
    match index {
        None => true,
        Some(name) => desc.global_secondary_indexes().iter().any(|i| {
            i.index_name() == Some(name)
                // An emulator may leave the status out; it has no backfill.
                && matches!(i.index_status(), Some(IndexStatus::Active) | None)
        }),
    }
}

async fn describe(client: &Client, table: &str) -> Result<Option<TableDescription>, StoreError> {
    match client.describe_table().table_name(table).send().await {
        Ok(out) => Ok(out.table),
        Err(err) => match err.as_service_error() {
            Some(DescribeTableError::ResourceNotFoundException(_)) => Ok(None),
            _ => Err(request_failed("DescribeTable", table, err)),
        },
    }
}

/// Fails unless `schema` is exactly `hash` (and `range`, if given).
fn expect_keys(
    table: &str,
    schema: &[KeySchemaElement],
    hash: &str,
    range: Option<&str>,
) -> Result<(), StoreError> {
    let named = |t: KeyType| {
        schema
            .iter()
            .find(|k| k.key_type() == &t)
            .map(|k| k.attribute_name())
    };
    if named(KeyType::Hash) == Some(hash) && named(KeyType::Range) == range {
        return Ok(());
    }
    let found: Vec<String> = schema
        .iter()
        .map(|k| format!("{} {}", k.attribute_name(), k.key_type().as_str()))
        .collect();
    Err(DynamoError::Table {
        table: table.to_string(),
        problem: format!(
            "exists with key schema [{}], expected {hash} HASH{}",
            found.join(", "),
            range.map(|r| format!(", {r} RANGE")).unwrap_or_default()
        ),
    }
    .into())
}

fn user_index(table: &str) -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(USER_ID_INDEX)
        .key_schema(key(table, "user_id", KeyType::Hash)?)
        .key_schema(key(table, "submit_time", KeyType::Range)?)
        .projection(all_attributes())
        .build()
        .map_err(|e| build_failed("CreateTable", table, e))
}

fn all_attributes() -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::All)
        .build()
}

fn key(table: &str, name: &str, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(|e| build_failed("CreateTable", table, e))
}

fn attribute(
    table: &str,
    name: &str,
    kind: ScalarAttributeType,
) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .map_err(|e| build_failed("CreateTable", table, e))
}
