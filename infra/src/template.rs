//! The SAM template as JSON values. CloudFormation's short tags (`!Ref X`, `!Sub "..."`,
//! `!GetAtt A.B`) become their long forms (`{"Ref": "X"}`, `{"Fn::Sub": "..."}`,
//! `{"Fn::GetAtt": ["A", "B"]}`) while parsing, so everything downstream reads one shape,
//! whichever form the template uses.

use crate::error::InfraError;
use serde_json::{Map, Value};

/// `infra/template.yaml`, compiled in: the binary and the tests read the file they were built
/// with, never a stale copy.
pub const SOURCE: &str = include_str!("../template.yaml");

#[derive(Debug, Clone)]
pub struct Template {
    root: Map<String, Value>,
}

impl Template {
    pub fn bundled() -> Result<Self, InfraError> {
        Self::parse(SOURCE)
    }

    pub fn parse(text: &str) -> Result<Self, InfraError> {
        let yaml: serde_norway::Value =
            serde_norway::from_str(text).map_err(|e| InfraError::Yaml(e.to_string()))?;
        match to_json(yaml)? {
            Value::Object(root) => Ok(Self { root }),
            _ => Err(InfraError::Template("the template is not a mapping".into())),
        }
    }

    fn section(&self, name: &str) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.root
            .get(name)
            .and_then(Value::as_object)
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    pub fn parameters(&self) -> &Map<String, Value> {
        self.section("Parameters")
    }

    pub fn conditions(&self) -> &Map<String, Value> {
        self.section("Conditions")
    }

    pub fn resources(&self) -> &Map<String, Value> {
        self.section("Resources")
    }

    pub fn outputs(&self) -> &Map<String, Value> {
        self.section("Outputs")
    }

    pub fn resource(&self, id: &str) -> Option<&Value> {
        self.resources().get(id)
    }

    /// The logical ids of the resources of one type, in template order.
    pub fn resources_of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.resources()
            .iter()
            .filter(move |(_, r)| r["Type"] == kind)
            .map(|(id, _)| id.as_str())
    }

    /// The environment a function gets: the `Globals` variables, then its own on top (SAM's
    /// merge rule for maps).
    pub fn function_environment(&self, function: &str) -> Map<String, Value> {
        let mut variables = self.global_environment();
        if let Some(own) = self
            .resource(function)
            .and_then(|r| r.pointer("/Properties/Environment/Variables"))
            .and_then(Value::as_object)
        {
            variables.extend(own.clone());
        }
        variables
    }

    /// The environment shared by every function (`Globals.Function.Environment.Variables`).
    pub fn global_environment(&self) -> Map<String, Value> {
        self.root
            .get("Globals")
            .and_then(|g| g.pointer("/Function/Environment/Variables"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    /// The parameter a variable of the functions' environment is set from (`OTP_TTL_SECONDS`
    /// -> `TtlSeconds`), when it is a plain `!Ref` to a parameter.
    pub fn parameter_for_variable(&self, variable: &str) -> Option<&str> {
        let name = self.global_environment().get(variable)?.get("Ref")?.clone();
        let name = name.as_str()?;
        self.parameters()
            .get_key_value(name)
            .map(|(key, _)| key.as_str())
    }
}

impl Template {
    /// The reverse of [`Template::parameter_for_variable`].
    pub fn variable_for_parameter(&self, parameter: &str) -> Option<String> {
        self.global_environment()
            .into_iter()
            .find(|(_, value)| value.get("Ref").and_then(Value::as_str) == Some(parameter))
            .map(|(variable, _)| variable)
    }
}

/// serde_norway's value to JSON, with the short tags in their long forms.
fn to_json(value: serde_norway::Value) -> Result<Value, InfraError> {
    use serde_norway::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| InfraError::Template(format!("{f} is not a number JSON has")))?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Y::Mapping(map) => {
            let mut object = Map::new();
            for (key, value) in map {
                let key = match key {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => {
                        return Err(InfraError::Template(format!(
                            "a mapping key must be a scalar, found {other:?}"
                        )));
                    }
                };
                object.insert(key, to_json(value)?);
            }
            Value::Object(object)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = to_json(tagged.value)?;
            let (key, inner) = match name {
                "Ref" | "Condition" => (name.to_owned(), inner),
                "GetAtt" => {
                    let inner = match inner {
                        // `!GetAtt Resource.Attribute.Part`: the first dot splits.
                        Value::String(s) => match s.split_once('.') {
                            Some((resource, attribute)) => {
                                Value::from(vec![resource.to_owned(), attribute.to_owned()])
                            }
                            None => {
                                return Err(InfraError::Template(format!(
                                    "!GetAtt {s}: expected Resource.Attribute"
                                )));
                            }
                        },
                        other => other,
                    };
                    ("Fn::GetAtt".to_owned(), inner)
                }
                _ => (format!("Fn::{name}"), inner),
            };
            Value::Object(Map::from_iter([(key, inner)]))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_tags_read_as_their_long_forms() {
        let t = Template::parse(
            "Resources:\n  A:\n    Type: X\n    Properties:\n      \
             R: !Ref P\n      G: !GetAtt Q.Arn\n      S: !Sub \"${AWS::StackName}-x\"\n      \
             I: !If [C, !Select [1, !Split ['@', !Ref E]], !Ref AWS::NoValue]\n      \
             L: { \"Fn::Sub\": y }\n",
        )
        .unwrap();
        let props = &t.resource("A").unwrap()["Properties"];
        assert_eq!(props["R"], json!({"Ref": "P"}));
        assert_eq!(props["G"], json!({"Fn::GetAtt": ["Q", "Arn"]}));
        assert_eq!(props["S"], json!({"Fn::Sub": "${AWS::StackName}-x"}));
        assert_eq!(
            props["I"],
            json!({"Fn::If": ["C", {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": "E"}]}]}, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(props["L"], json!({"Fn::Sub": "y"}));
    }

    #[test]
    fn the_bundled_template_parses_and_maps_variables_to_parameters() {
        let t = Template::bundled().unwrap();
        assert_eq!(
            t.parameter_for_variable("OTP_TTL_SECONDS"),
            Some("TtlSeconds")
        );
        // Set from a resource, not a parameter.
        assert_eq!(t.parameter_for_variable("OTP_QUEUE_URL"), None);
        assert!(t.resource("JobQueue").is_some());
    }
}
