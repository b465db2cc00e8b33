//! The one error type of the template reader and the local provisioner.

use aws_sdk_sqs::error::DisplayErrorContext;

#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    /// The template is not valid YAML, or lacks or misspells something the local stack reads
    /// from it (the drift test, infra/tests/drift.rs, says which).
    #[error("infra/template.yaml: {0}")]
    Template(String),
    /// A parameter value breaks the parameter's constraints, as CloudFormation would refuse it.
    #[error("parameter {name}: {problem}")]
    Parameter { name: String, problem: String },
    /// Creating a resource failed in the AWS the environment points at.
    #[error(
        "creating {resource} failed: {operation}: {}; is the local AWS (moto) running where AWS_ENDPOINT_URL points?",
        DisplayErrorContext(source.as_ref())
    )]
    Aws {
        resource: String,
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl InfraError {
    /// A request for `id` that the SDK could not build from the template's values.
    pub(crate) fn build(id: &str) -> impl Fn(aws_sdk_dynamodb::error::BuildError) -> Self + '_ {
        move |e| InfraError::Template(format!("{id}: {e}"))
    }
}

/// The `result` of an SDK call for `resource`, its error naming the operation.
pub(crate) fn aws<T, E: std::error::Error + Send + Sync + 'static>(
    resource: &str,
    operation: &'static str,
    result: Result<T, E>,
) -> Result<T, InfraError> {
    result.map_err(|err| InfraError::Aws {
        resource: resource.to_owned(),
        operation,
        source: Box::new(err),
    })
}
