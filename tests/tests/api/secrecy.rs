//! A full run of the real binaries, configured only through the environment as in production:
//! afterwards no code is found in their logs, in the table or in the queued jobs, and no full
//! destination in the logs.

use crate::helpers::{outbox, random_email, random_phone, spawn_app, wrong_code};
use crate::process::Process;
use std::time::{Duration, Instant};

/// Whether `code` appears in `text` as a whole run of digits.
fn contains_code(text: &str, code: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|run| run == code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_full_run_no_code_is_in_the_logs_the_table_or_the_queue() {
    let app = spawn_app().await;
    app.store_key_in_table().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut env = app.binary_env();
    env.extend([
        ("OTP_BRAND_NAME", "Acme".to_owned()),
        ("OTP_HTTP_ADDR", format!("127.0.0.1:{port}")),
        ("RUST_LOG", "debug".to_owned()),
    ]);
    let api = Process::start("api", &env);
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/health")).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the api binary did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let (email, phone) = (random_email(), random_phone());
    let mut ids = Vec::new();
    for (channel, to) in [("email", &email), ("sms", &phone)] {
        let body = serde_json::json!({ "channel": channel, "destination": to });
        let answer: serde_json::Value = app
            .http
            .post(format!("{base}/v1/otp/send"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(answer["otp_id"].as_str().expect("send accepted").to_owned());
    }
    // The jobs as they sit in the queue, before the worker takes them.
    let peeked = app
        .sqs
        .receive_message()
        .queue_url(&app.queue_url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let job_bodies: Vec<String> = peeked
        .messages()
        .iter()
        .filter_map(|m| m.body().map(str::to_owned))
        .collect();
    assert_eq!(job_bodies.len(), 2);

    let worker = Process::start("worker", &env);
    let mut codes = Vec::new();
    for to in [&email, &phone] {
        let started = Instant::now();
        loop {
            if let Some(message) = outbox(&app.endpoint, to).await.last() {
                codes.push(crate::helpers::extract_code(message, 6).unwrap());
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the worker binary delivered nothing to {to}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for (id, code) in ids.iter().zip(&codes) {
        let verify = |code: String| {
            app.http
                .post(format!("{base}/v1/otp/verify"))
                .json(&serde_json::json!({ "otp_id": id, "code": code }))
                .send()
        };
        assert_eq!(verify(wrong_code(code)).await.unwrap().status(), 422);
        assert_eq!(verify(code.clone()).await.unwrap().status(), 200);
    }

    let logs = format!("{}\n{}", api.stop(), worker.stop());
    assert!(
        logs.contains("otp issued") && logs.contains("job done"),
        "logs were not captured:\n{logs}"
    );
    let items = format!("{:?}", app.scan_table().await);
    for code in &codes {
        assert!(
            !contains_code(&logs, code),
            "a code reached the logs:\n{logs}"
        );
        assert!(
            !contains_code(&items, code),
            "a code is stored in the table: {items}"
        );
        for body in &job_bodies {
            assert!(
                !contains_code(body, code),
                "a code is in a queued job: {body}"
            );
        }
    }
    for full in [email.as_str(), phone.as_str()] {
        assert!(
            !logs.contains(full) && !items.contains(full),
            "a full destination was logged or stored"
        );
    }
    assert_eq!(app.queue_depth(&app.dlq_url).await, 0);
}
