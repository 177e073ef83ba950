//! Staff and instruments: not patient data, so stored in the clear, but every change is
//! still audited.

use labguard_audit::Outcome;
use labguard_core::{Id, Permission, Role, Staff};

use crate::action::Action;
use crate::actor::{Actor, STAFF_READERS};
use crate::backend::Value;
use crate::store::{rfc3339, Store};
use crate::StoreError;

/// See [`Store::operator_standing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorStanding {
    Active,
    Inactive,
    Unknown,
}

impl OperatorStanding {
    /// The hold reason for a reading taken by this operator, if any.
    pub fn hold_reason(self) -> Option<&'static str> {
        match self {
            OperatorStanding::Active => None,
            OperatorStanding::Inactive => Some("operator-inactive"),
            OperatorStanding::Unknown => Some("unknown-operator"),
        }
    }
}

/// An instrument or computer the lab runs (the device-security issue extends this).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceRecord {
    pub id: Id,
    pub name: String,
    pub kind: String,
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    pub firmware: String,
    pub location: String,
}

impl Store {
    pub fn add_staff(&self, actor: &Actor, s: &Staff) -> Result<(), StoreError> {
        let id = s.id.to_string();
        self.authorize(
            actor,
            Permission::AccountsManage,
            Action::StaffCreate,
            "staff",
            &id,
        )?;
        self.write(|tx, pending| {
            tx.execute(
                "INSERT INTO staff (id, username, display_name, role, email, active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                &[
                    id.clone().into(),
                    s.username.clone().into(),
                    s.display_name.clone().into(),
                    s.role.code().into(),
                    s.email.clone().into(),
                    Value::Int(i64::from(s.active)),
                    rfc3339(self.now()).into(),
                ],
            )?;
            pending.push(self.entry(actor, Action::StaffCreate, "staff", &id, None, Outcome::Success)?);
            Ok(())
        })
    }

    /// The staff directory, for those who manage people, training, phishing or compliance
    /// and readers of reports.
    pub fn list_staff(&self, actor: &Actor) -> Result<Vec<Staff>, StoreError> {
        self.require_any(actor, STAFF_READERS, Action::StaffList, "staff")?;
        self.staff_rows(None)
    }

    /// One member of staff: themselves, or anyone for a reader of the directory.
    pub fn staff_member(&self, actor: &Actor, id: Id) -> Result<Staff, StoreError> {
        self.may_read_person(actor, Some(id), Action::StaffList, "staff")?;
        self.staff_rows(Some(id))?
            .pop()
            .ok_or_else(|| StoreError::NotFound("staff".into()))
    }

    /// Where a point-of-care operator id (what a meter records per reading) stands: the
    /// username of an active member of staff (case ignored), of an inactive one, or of
    /// no one. Only that leaves the store. Not audited: part of instrument ingest, which
    /// holds the reading when the answer is not `Active`.
    pub fn operator_standing(&self, operator_id: &str) -> Result<OperatorStanding, StoreError> {
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            "SELECT active FROM staff WHERE lower(username) = lower(?)",
            &[operator_id.trim().into()],
        )?;
        let mut standing = OperatorStanding::Unknown;
        for r in rows {
            let [a] = r.as_slice() else {
                return Err(StoreError::Corrupt("staff row shape".into()));
            };
            if a.as_int()? != 0 {
                return Ok(OperatorStanding::Active);
            }
            standing = OperatorStanding::Inactive;
        }
        Ok(standing)
    }

    fn staff_rows(&self, only: Option<Id>) -> Result<Vec<Staff>, StoreError> {
        let mut tx = self.backend.begin()?;
        let (sql, params): (&str, Vec<Value>) = match only {
            Some(id) => (
                "SELECT id, username, display_name, role, email, active FROM staff WHERE id = ?",
                vec![id.to_string().into()],
            ),
            None => (
                "SELECT id, username, display_name, role, email, active FROM staff ORDER BY username",
                vec![],
            ),
        };
        tx.query(sql, &params)?
            .into_iter()
            .map(|r| {
                let [id, u, d, role, e, a] = r.as_slice() else {
                    return Err(StoreError::Corrupt("staff row shape".into()));
                };
                Ok(Staff {
                    id: Id::parse_str(id.as_text()?)
                        .map_err(|_| StoreError::Corrupt("staff id".into()))?,
                    username: u.as_text()?.into(),
                    display_name: d.as_text()?.into(),
                    role: Role::from_code(role.as_text()?)?,
                    email: e.as_text()?.into(),
                    active: a.as_int()? != 0,
                })
            })
            .collect()
    }

    pub fn add_device(&self, actor: &Actor, d: &DeviceRecord) -> Result<(), StoreError> {
        let id = d.id.to_string();
        self.authorize(
            actor,
            Permission::DevicesManage,
            Action::DeviceCreate,
            "device",
            &id,
        )?;
        self.write(|tx, pending| {
            tx.execute(
                "INSERT INTO devices (id, name, kind, manufacturer, model, serial, firmware, location, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &[
                    id.clone().into(),
                    d.name.clone().into(),
                    d.kind.clone().into(),
                    d.manufacturer.clone().into(),
                    d.model.clone().into(),
                    d.serial.clone().into(),
                    d.firmware.clone().into(),
                    d.location.clone().into(),
                    rfc3339(self.now()).into(),
                ],
            )?;
            pending.push(self.entry(actor, Action::DeviceCreate, "device", &id, None, Outcome::Success)?);
            Ok(())
        })
    }

    pub fn list_devices(&self) -> Result<Vec<DeviceRecord>, StoreError> {
        let mut tx = self.backend.begin()?;
        tx.query(
            "SELECT id, name, kind, manufacturer, model, serial, firmware, location FROM devices ORDER BY name",
            &[],
        )?
        .into_iter()
        .map(|r| {
            let t = |i: usize| -> Result<String, StoreError> {
                Ok(r.get(i)
                    .ok_or_else(|| StoreError::Corrupt("device row shape".into()))?
                    .as_text()?
                    .to_string())
            };
            Ok(DeviceRecord {
                id: Id::parse_str(&t(0)?).map_err(|_| StoreError::Corrupt("device id".into()))?,
                name: t(1)?,
                kind: t(2)?,
                manufacturer: t(3)?,
                model: t(4)?,
                serial: t(5)?,
                firmware: t(6)?,
                location: t(7)?,
            })
        })
        .collect()
    }

    /// Number of rows in each patient-data table (counts are not patient data).
    pub fn counts(&self) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let mut tx = self.backend.begin()?;
        let mut out = Vec::new();
        for spec in crate::table::PHI_TABLES {
            let n = tx
                .query(&format!("SELECT COUNT(*) FROM {}", spec.name), &[])?
                .first()
                .and_then(|r| r.first())
                .map(Value::as_int)
                .transpose()?
                .unwrap_or(0);
            out.push((spec.name, u64::try_from(n).unwrap_or(0)));
        }
        Ok(out)
    }
}
