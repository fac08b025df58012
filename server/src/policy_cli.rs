//! `portcullis policy validate` and `portcullis policy evaluate`: the policy engine from the shell.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Subcommand, ValueEnum};
use iam_policy::{
    CompiledPolicy, Context, PolicyKind, PolicySet, Request, RequestPrincipal, compile, evaluate, parse_policy,
    validate::{check_size, validate},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Identity,
    Resource,
    Trust,
    Boundary,
    Session,
    Guardrail,
}

impl From<KindArg> for PolicyKind {
    fn from(k: KindArg) -> PolicyKind {
        match k {
            KindArg::Identity => PolicyKind::Identity,
            KindArg::Resource => PolicyKind::ResourceBased,
            KindArg::Trust => PolicyKind::Trust,
            KindArg::Boundary => PolicyKind::PermissionsBoundary,
            KindArg::Session => PolicyKind::Session,
            KindArg::Guardrail => PolicyKind::Guardrail,
        }
    }
}

#[derive(Debug, Subcommand)]
#[expect(clippy::large_enum_variant, reason = "parsed once at start-up")]
pub enum PolicyCommand {
    /// Check policy documents; prints each problem and exits non-zero if there is one.
    Validate {
        /// What the documents are: the rules differ (Principal, Resource, size).
        #[arg(long, value_enum, default_value = "identity")]
        kind: KindArg,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Decide one request against policy files and print the decision and its explanation as JSON.
    Evaluate {
        /// The caller's ARN (user, role session, root) or a service name (ec2.amazonaws.com).
        #[arg(long)]
        principal: String,
        /// The action, e.g. s3:GetObject.
        #[arg(long)]
        action: String,
        /// The resource ARN, or *.
        #[arg(long, default_value = "*")]
        resource: String,
        /// The account owning the resource, when it is not the caller's.
        #[arg(long)]
        resource_account: Option<String>,
        /// An identity policy of the caller (repeat for several).
        #[arg(long = "identity")]
        identity: Vec<PathBuf>,
        /// The resource's policy.
        #[arg(long = "resource-policy")]
        resource_policy: Option<PathBuf>,
        /// The role's trust policy (for sts:AssumeRole).
        #[arg(long)]
        trust: Option<PathBuf>,
        /// The caller's permissions boundary.
        #[arg(long)]
        boundary: Option<PathBuf>,
        /// A session policy (repeat for several).
        #[arg(long)]
        session: Vec<PathBuf>,
        /// A guardrail; each one is a level of its own, which must allow.
        #[arg(long)]
        guardrail: Vec<PathBuf>,
        /// A context entry KEY=VALUE; repeat a key for a multi-valued key.
        #[arg(long = "context", value_name = "KEY=VALUE")]
        context: Vec<String>,
    },
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn load(path: &Path, kind: PolicyKind) -> Result<Arc<CompiledPolicy>, String> {
    let text = read(path)?;
    let shown = path.display();
    check_size(&text, kind.max_chars()).map_err(|e| format!("{shown}: {e}"))?;
    let doc = parse_policy(&text).map_err(|e| format!("{shown}: {e}"))?;
    if let Some(problem) = validate(&doc, kind).into_iter().next() {
        return Err(format!("{shown}: {problem}"));
    }
    Ok(Arc::new(compile(&doc, shown.to_string())))
}

/// Runs a policy command; `Ok(false)` means it ran and found problems.
pub fn run(command: PolicyCommand) -> Result<bool, String> {
    match command {
        PolicyCommand::Validate { kind, files } => {
            let kind = PolicyKind::from(kind);
            let mut clean = true;
            for file in files {
                let text = match read(&file) {
                    Ok(t) => t,
                    Err(e) => {
                        println!("{e}");
                        clean = false;
                        continue;
                    }
                };
                let problems = match check_size(&text, kind.max_chars()).and_then(|()| parse_policy(&text)) {
                    Err(e) => vec![e],
                    Ok(doc) => validate(&doc, kind),
                };
                if problems.is_empty() {
                    println!("{}: valid {} policy", file.display(), kind.name());
                }
                for p in &problems {
                    println!("{}: {}: {p}", file.display(), p.code());
                }
                clean &= problems.is_empty();
            }
            Ok(clean)
        }
        PolicyCommand::Evaluate {
            principal,
            action,
            resource,
            resource_account,
            identity,
            resource_policy,
            trust,
            boundary,
            session,
            guardrail,
            context,
        } => {
            let principal = RequestPrincipal::from_arn(&principal)
                .ok_or_else(|| format!("`{principal}` is not a principal ARN or a service name"))?;
            let set = PolicySet {
                identity: identity.iter().map(|p| load(p, PolicyKind::Identity)).collect::<Result<_, _>>()?,
                resource: resource_policy.as_deref().map(|p| load(p, PolicyKind::ResourceBased)).transpose()?,
                trust: trust.as_deref().map(|p| load(p, PolicyKind::Trust)).transpose()?,
                boundary: boundary.as_deref().map(|p| load(p, PolicyKind::PermissionsBoundary)).transpose()?,
                session: session.iter().map(|p| load(p, PolicyKind::Session)).collect::<Result<_, _>>()?,
                guardrails: guardrail
                    .iter()
                    .map(|p| load(p, PolicyKind::Guardrail).map(|c| vec![c]))
                    .collect::<Result<_, _>>()?,
            };
            let mut ctx = Context::new();
            for entry in &context {
                let (key, value) =
                    entry.split_once('=').ok_or_else(|| format!("--context `{entry}` must be KEY=VALUE"))?;
                ctx.insert(key.trim(), value);
            }
            let request = Request {
                principal: &principal,
                action: &action,
                resource: &resource,
                resource_account: resource_account.as_deref(),
                context: &ctx,
            };
            let decision = evaluate(&request, &set);
            let out = serde_json::json!({
                "decision": decision.outcome,
                "deciding_statements": decision.deciding,
                "denied_by": decision.denied_by,
            });
            println!("{}", serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?);
            Ok(true)
        }
    }
}
