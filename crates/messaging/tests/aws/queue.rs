//! [`SqsQueue`] against the queue contract, and what only it offers.

use std::time::Duration;

use gas_messaging::aws::{create_queue, SqsQueue};
use gas_messaging::conformance::queue;
use gas_messaging::{MessagingError, Queue};

use crate::support::{aws, VISIBILITY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_queue_passes_the_queue_suite() {
    let Some(aws) = aws("sqs_queue_passes_the_queue_suite").await else {
        return;
    };
    let q = aws.queue("suite").await;
    assert_eq!(
        q.name(),
        aws.name("suite"),
        "the name is the URL's last segment"
    );
    // `queue::suite` check by check, so that one can be left out:
    queue::rejects_invalid_max(&q).await;
    queue::depth(&q).await;
    queue::round_trip(&q, VISIBILITY).await;
    queue::receives_at_most_ten(&q).await;
    queue::delete_is_idempotent(&q).await;
    queue::visibility_timeout_redelivers(&q, VISIBILITY).await;
    // Not `queue::stale_receipt_does_not_delete`: moto deletes a message
    // with any receipt handle it ever had, so the message is gone after the
    // stale delete. Amazon SQS documents that such a delete succeeds but the
    // message "might not" be deleted, and the adapter sends the delete as
    // given, so the check is moto's to fail, not the adapter's.
    queue::change_visibility(&q, VISIBILITY).await;
    queue::long_poll_returns_early(&q).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_queue_redrives_to_its_dead_letter_queue() {
    let Some(aws) = aws("sqs_queue_redrives_to_its_dead_letter_queue").await else {
        return;
    };
    let dlq_name = aws.name("redrive-dlq");
    let url = create_queue(
        &aws.sqs,
        &aws.name("redrive"),
        VISIBILITY,
        Some((&dlq_name, 2)),
    )
    .await
    .unwrap();
    let dlq_url = aws
        .sqs
        .get_queue_url()
        .queue_name(&dlq_name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let q = SqsQueue::new(aws.sqs.clone(), url);
    let dlq = SqsQueue::new(aws.sqs.clone(), dlq_url);
    queue::redrive(&q, &dlq, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_queue_deletes_in_batches_and_checks_arguments() {
    let Some(aws) = aws("sqs_queue_deletes_in_batches_and_checks_arguments").await else {
        return;
    };
    let q = aws.queue("batch").await;
    for i in 0..3 {
        q.send(&format!("batch {i}")).await.unwrap();
    }
    let mut receipts = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while receipts.len() < 3 && tokio::time::Instant::now() < deadline {
        let got = q.receive(10, Duration::from_secs(1)).await.unwrap();
        receipts.extend(got.into_iter().map(|m| m.receipt));
    }
    assert_eq!(receipts.len(), 3, "all three received");
    q.delete_batch(&receipts).await.unwrap();
    q.delete_batch(&receipts).await.unwrap();
    q.delete_batch(&[]).await.unwrap();
    tokio::time::sleep(VISIBILITY + Duration::from_millis(500)).await;
    assert!(
        q.receive(10, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty(),
        "deleted messages came back"
    );

    let eleven = vec!["r".to_owned(); 11];
    assert!(matches!(
        q.delete_batch(&eleven).await,
        Err(MessagingError::Invalid(_))
    ));
    assert!(matches!(
        q.delete_batch(&[String::new()]).await,
        Err(MessagingError::Invalid(_))
    ));
    assert!(matches!(
        q.receive(1, Duration::from_secs(21)).await,
        Err(MessagingError::Invalid(_))
    ));
    assert!(matches!(q.send("").await, Err(MessagingError::Invalid(_))));
    assert!(matches!(
        q.delete("").await,
        Err(MessagingError::Invalid(_))
    ));

    // A deleted message's visibility cannot change.
    let id = q.send("gone").await.unwrap();
    let got = q.receive(1, Duration::from_secs(2)).await.unwrap();
    assert_eq!(got[0].message_id, id);
    q.delete(&got[0].receipt).await.unwrap();
    let changed = q.change_visibility(&got[0].receipt, Duration::ZERO).await;
    assert!(
        matches!(changed, Err(MessagingError::NotFound(_))),
        "change_visibility of a deleted message gave {changed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_queue_is_not_found() {
    let Some(aws) = aws("a_missing_queue_is_not_found").await else {
        return;
    };
    let q = aws.queue("missing").await;
    aws.sqs
        .delete_queue()
        .queue_url(q.url())
        .send()
        .await
        .unwrap();
    let sent = q.send("x").await;
    assert!(
        matches!(sent, Err(MessagingError::NotFound(_))),
        "send to a deleted queue gave {sent:?}"
    );
}
