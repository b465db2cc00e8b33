//! The SDK clients, re-exported so the binaries need not depend on each SDK crate themselves.

pub use aws_sdk_dynamodb::Client as DynamoClient;
pub use aws_sdk_sqs::Client as SqsClient;
