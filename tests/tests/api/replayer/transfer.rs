//! export, purge, import: a copy of the DLQ taken before touching it puts back every job
//! exactly as it was.

use super::{issue, malformed_bodies, put_in_dlq, redrive_all, replayer};
use crate::helpers::{TestApp, spawn_app_with};
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::MessageAttributeValue;
use common::config::Rules;
use std::collections::BTreeMap;

/// A message as it can be put back: body and message attributes (name, type, value).
type Kept = (
    String,
    BTreeMap<String, (String, Option<String>, Option<Vec<u8>>)>,
);

/// Every message of the DLQ with its attributes, each read once, then made visible again.
async fn snapshot(app: &TestApp) -> Vec<Kept> {
    let mut seen = Vec::new();
    let mut handles = Vec::new();
    loop {
        let out = app
            .sqs
            .receive_message()
            .queue_url(&app.dlq_url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        if out.messages().is_empty() {
            break;
        }
        for m in out.messages() {
            let attributes = m
                .message_attributes()
                .into_iter()
                .flatten()
                .map(|(name, v)| {
                    (
                        name.clone(),
                        (
                            v.data_type().to_owned(),
                            v.string_value().map(str::to_owned),
                            v.binary_value().map(|b| b.as_ref().to_vec()),
                        ),
                    )
                })
                .collect();
            seen.push((m.body().unwrap_or_default().to_owned(), attributes));
            handles.extend(m.receipt_handle().map(str::to_owned));
        }
    }
    for handle in handles {
        app.sqs
            .change_message_visibility()
            .queue_url(&app.dlq_url)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }
    seen.sort();
    seen
}

#[tokio::test]
async fn export_then_purge_then_import_round_trips_every_job_byte_for_byte() {
    let app = spawn_app_with(Rules {
        max_sends_per_ip_per_hour: 100_000,
        ..Rules::default()
    })
    .await;
    issue(&app, 40, false).await;
    app.clock.advance(-7_200);
    issue(&app, 10, false).await;
    app.clock.advance(7_200);
    redrive_all(&app).await;
    for body in malformed_bodies(5) {
        put_in_dlq(&app, &body).await;
    }
    // What else a DLQ can hold: any Unicode SQS allows, control characters, attributes.
    app.sqs
        .send_message()
        .queue_url(&app.dlq_url)
        .message_body("ünïcødé 🦀 \t\r\n \"quoted\" \\ back\u{7f}slash \u{FFFD}")
        .message_attributes(
            "origin",
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value("legacy-producer")
                .build()
                .unwrap(),
        )
        .message_attributes(
            "trace",
            MessageAttributeValue::builder()
                .data_type("Binary")
                .binary_value(Blob::new(vec![0u8, 1, 2, 254, 255]))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let before = snapshot(&app).await;
    assert_eq!(before.len(), 56);

    let dir = std::env::temp_dir().join(format!("otp-dlq-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("dlq.jsonl");
    let file_arg = file.to_str().unwrap();

    let export = replayer(&app, &["export", "--out", file_arg, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(export["exported"], 56);
    assert_eq!(
        snapshot(&app).await,
        before,
        "export leaves the DLQ as it was"
    );
    let lines = std::fs::read_to_string(&file).unwrap();
    assert_eq!(lines.lines().count(), 56);
    let again = replayer(&app, &["export", "--out", file_arg]).await;
    assert_eq!(again.code, 1, "never overwrites a copy: {again:?}");
    assert!(again.stderr.contains("--force"), "{}", again.stderr);

    let purge = replayer(&app, &["purge", "--all", "--execute", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(purge["removed"], 56);
    assert_eq!(app.queue_depth(&app.dlq_url).await, 0);

    let dry = replayer(&app, &["import", "--in", file_arg, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(dry["messages"], 56);
    assert_eq!(
        app.queue_depth(&app.dlq_url).await,
        0,
        "a dry run sends nothing"
    );

    let import = replayer(&app, &["import", "--in", file_arg, "--execute", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(import["imported"], 56);
    assert_eq!(
        snapshot(&app).await,
        before,
        "every job back, byte for byte"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
