//! The one error type of the template reader and the local provisioner.

#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    /// The template is not valid YAML.
    #[error("infra/template.yaml is not valid YAML: {0}")]
    Yaml(String),
    /// The template has a shape this reader does not handle: a mistake in the template, or a
    /// feature (an intrinsic function, a resource property) the reader needs to learn.
    #[error("infra/template.yaml: {0}")]
    Template(String),
    /// A parameter value breaks the parameter's constraints, as CloudFormation would refuse it.
    #[error("parameter {name}: {problem}")]
    Parameter { name: String, problem: String },
    /// A reference to a resource that does not exist in this stack.
    #[error("unresolved reference {0}")]
    Unresolved(String),
    /// Creating a resource failed in the AWS the environment points at.
    #[error(
        "creating {resource} failed: {detail}; is the local AWS (moto) running where AWS_ENDPOINT_URL points?"
    )]
    Aws { resource: String, detail: String },
}
