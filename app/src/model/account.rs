//! People, roles and credentials.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a person may do in their org. Ordered: each role can do everything the
/// roles before it can. The table in `docs/roles.md` is the reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads tickets and timelines; watches canvases and terminals read-only.
    Viewer,
    /// Raises tickets, comments, messages agents, uploads attachments.
    Member,
    /// Decides on commands, types in terminals, changes ticket status.
    Operator,
    /// Manages people, API tokens, agents and instances; deletes tickets.
    Admin,
}

/// One gated action; `Role::can` is the single place that maps roles to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Read tickets, timelines, files, recordings; watch live.
    Read,
    /// Raise tickets, comment, message agents, attach files.
    Write,
    /// Approve, reject or execute commands; type in a terminal; change status.
    Operate,
    /// Manage users, tokens, agents and instances; delete tickets.
    Administer,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Member, Role::Operator, Role::Admin];

    /// Whether this role grants `permission`.
    pub fn can(self, permission: Permission) -> bool {
        let needed = match permission {
            Permission::Read => Role::Viewer,
            Permission::Write => Role::Member,
            Permission::Operate => Role::Operator,
            Permission::Administer => Role::Admin,
        };
        self >= needed
    }

    /// The lowercase name used in the API, the database and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`: expected viewer, member, operator or admin"))
    }
}

/// An org as the caller sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgView {
    pub id: String,
    pub slug: String,
    pub name: String,
}

/// A user as members of the same org see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Who is calling: answered by `GET /api/v1/me` and used by every page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user: UserView,
    pub org: OrgView,
    pub role: Role,
}

impl Me {
    /// Whether the caller's role grants `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        self.role.can(permission)
    }

    /// The caller as a timeline or watcher reference.
    pub fn person(&self) -> super::PersonRef {
        super::PersonRef { id: self.user.id.clone(), email: self.user.email.clone(), name: self.user.name.clone() }
    }
}

/// An API token as listed: never the secret itself, which is shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokenView {
    pub id: String,
    pub name: String,
    pub user_email: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A freshly created API token: the only time its secret is ever returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiToken {
    pub token: ApiTokenView,
    pub secret: String,
}

/// The longest email address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;
/// Shortest password accepted for a person who signs in through the browser.
pub const MIN_PASSWORD_LEN: usize = 10;

/// Checks an email address's shape; the message names what is wrong.
pub fn validate_email(email: &str) -> Result<(), String> {
    let email = email.trim();
    if email.is_empty() {
        return Err("email is required".into());
    }
    if email.len() > MAX_EMAIL_LEN {
        return Err(format!("email is longer than {MAX_EMAIL_LEN} characters"));
    }
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err("email must look like name@example.com".into()),
    }
}

/// Checks a new password against the minimum the product accepts.
pub fn validate_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(format!("password must be at least {MIN_PASSWORD_LEN} characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_everything_below_them() {
        assert!(Role::Viewer.can(Permission::Read));
        assert!(!Role::Viewer.can(Permission::Write));
        assert!(Role::Member.can(Permission::Write));
        assert!(!Role::Member.can(Permission::Operate));
        assert!(Role::Operator.can(Permission::Operate));
        assert!(!Role::Operator.can(Permission::Administer));
        assert!(Role::Admin.can(Permission::Administer));
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{role}\""));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn emails_and_passwords_are_checked() {
        assert!(validate_email("ada@example.com").is_ok());
        assert!(validate_email("").is_err());
        assert!(validate_email("no-at-sign").is_err());
        assert!(validate_email("a@b@c").is_err());
        assert!(validate_email("a b@example.com").is_err());
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough pw").is_ok());
    }
}
