use labguard_core::{Permission, Role};

/// Who may read the staff directory and everyone's training records: those who manage
/// people, training, phishing or compliance, and readers of reports.
pub const STAFF_READERS: &[Permission] = &[
    Permission::AccountsManage,
    Permission::TrainingManage,
    Permission::PhishingManage,
    Permission::ComplianceManage,
    Permission::ReportsRead,
];

/// Who is acting. Every call into the store names one, and it goes into the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub kind: ActorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// A signed-in member of staff, limited to their role's permissions.
    Staff(Role),
    /// Someone at the server's console running the CLI: trusted like root, audited like
    /// everyone.
    Operator,
    /// An enrolled instrument delivering results.
    Device,
    /// labguard itself (key rotation, seeding, background jobs).
    System,
}

impl Actor {
    pub fn staff(id: impl Into<String>, role: Role) -> Actor {
        Actor {
            id: id.into(),
            kind: ActorKind::Staff(role),
        }
    }

    /// The local operator, named after the OS user so the audit log says who sat there.
    pub fn operator() -> Actor {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        Actor {
            id: format!("operator:{user}"),
            kind: ActorKind::Operator,
        }
    }

    pub fn device(id: impl Into<String>) -> Actor {
        Actor {
            id: id.into(),
            kind: ActorKind::Device,
        }
    }

    pub fn system() -> Actor {
        Actor {
            id: "labguard".into(),
            kind: ActorKind::System,
        }
    }

    pub fn role_code(&self) -> &'static str {
        match self.kind {
            ActorKind::Staff(r) => r.code(),
            ActorKind::Operator => "operator",
            ActorKind::Device => "device",
            ActorKind::System => "system",
        }
    }

    /// Whether this is the signed-in member of staff `id` (their own records are theirs).
    pub fn is_staff(&self, id: labguard_core::Id) -> bool {
        matches!(self.kind, ActorKind::Staff(_)) && self.id == id.to_string()
    }

    /// Minimum necessary: staff get their role's permissions; devices may only file results.
    pub fn may(&self, p: Permission) -> bool {
        match self.kind {
            ActorKind::Staff(r) => r.allows(p),
            ActorKind::Operator | ActorKind::System => true,
            ActorKind::Device => matches!(p, Permission::ResultEnter),
        }
    }
}
