//! Which columns of each V4 file the migration reads, and which it drops on purpose.
//!
//! A V4 file's columns are those of the V5 table of the same name (`../shared/domain/
//! V4-CSV.md`). Every one with a V5 home is carried; the few without are listed here with
//! the reason, and a column the migration does not know at all is reported as dropped too,
//! so that a misspelt header (`Adress`) is seen rather than silently ignored.

/// The columns of one file.
#[derive(Debug)]
pub struct FileColumns {
    pub table: &'static str,
    /// Read by the mapping (`Id` is the V4 id, kept as `ExternalId`).
    pub carried: &'static [&'static str],
    /// V4 columns with no V5 home, and why.
    pub dropped: &'static [(&'static str, &'static str)],
}

macro_rules! columns {
    ($($name:literal)*) => { &[$($name),*] };
}

pub const FILES: [FileColumns; 11] = [
    FileColumns {
        table: "Users",
        carried: columns!("Id" "FirstName" "LastName" "Email" "Status" "AccessLevel"
            "IsSchedulable" "Timezone" "CreatedAt" "UpdatedAt"),
        dropped: &[],
    },
    FileColumns {
        table: "Clients",
        carried: columns!("Id" "CompanyName" "FirstName" "LastName" "Status" "Tags"
            "ClientType" "DefaultContactId" "Email" "Phone" "Address" "CreatedAt" "UpdatedAt"),
        dropped: &[],
    },
    FileColumns {
        table: "Contacts",
        carried: columns!("Id" "ClientId" "ClientId_Reference" "ClientCompanyName_Reference"
            "FirstName" "LastName" "Email" "Phone" "Address" "Archived" "UpdatedAt"),
        dropped: &[],
    },
    FileColumns {
        table: "Pianos",
        carried: columns!("Id" "ClientId" "ClientId_Reference" "ClientCompanyName_Reference"
            "Make" "Model" "SerialNumber" "Type" "Year" "Location" "Notes" "Status"
            "HasHumidityControl" "CreatedAt" "UpdatedAt"),
        dropped: &[],
    },
    FileColumns {
        table: "Products",
        carried: columns!("Id" "Name" "Sku" "Description" "UnitCost" "RetailPrice" "Active"
            "Type" "GroupName" "CreatedAt" "UpdatedAt"),
        dropped: &[],
    },
    FileColumns {
        table: "Inventory",
        carried: columns!("ProductId" "TechnicianId" "Quantity" "ReorderThreshold" "UpdatedAt"),
        dropped: &[(
            "Id",
            "V4's row number for a stock line; V5 keys a line by product and technician",
        )],
    },
    FileColumns {
        table: "Invoices",
        carried: columns!("Id" "ClientId" "ClientId_Reference" "ClientCompanyName_Reference"
            "Number" "InvoiceDate" "Status" "SubTotal" "Total" "Notes" "AssignedToId"
            "CreatedAt" "DueOn" "UpdatedAt"),
        dropped: &[],
    },
    FileColumns {
        table: "InvoiceItems",
        carried: columns!("Id" "InvoiceId" "PianoId" "Description" "Quantity" "Amount"
            "UnitPrice" "Total" "Type" "Taxable" "Billable" "SequenceNumber"),
        dropped: &[],
    },
    FileColumns {
        table: "Appointments",
        carried: columns!("Id" "ClientId" "ClientId_Reference" "ClientCompanyName_Reference"
            "TechnicianId" "PianoId" "Description" "AppointmentStatus" "EventType" "StartAt"
            "Duration" "IsAllDay" "Notes" "ConfirmedByClient" "CreatedAt" "UpdatedAt"),
        dropped: &[],
    },
    FileColumns {
        table: "TimelineEntries",
        carried: columns!("Id" "ClientId" "ClientId_Reference" "ClientCompanyName_Reference"
            "PianoId" "InvoiceId" "EstimateId" "OccurredAt" "EntryType" "Title" "Details"
            "UserId"),
        dropped: &[],
    },
    FileColumns {
        table: "MaintenanceAlerts",
        carried: columns!("Id" "ClientId" "ClientId_Reference" "ClientCompanyName_Reference"
            "PianoId" "DateObservation" "Location" "AlertType" "Description" "IsResolved"
            "ResolvedDate" "Archived" "Notes" "RecipientEmail" "CreatedBy" "CreatedAt"
            "UpdatedAt"),
        dropped: &[],
    },
];

impl FileColumns {
    pub fn of(table: &str) -> &'static FileColumns {
        FILES.iter().find(|f| f.table == table).unwrap_or(&FILES[0])
    }

    pub fn carries(&self, column: &str) -> bool {
        self.carried.iter().any(|c| c.eq_ignore_ascii_case(column))
    }

    /// The file's columns that are not imported, each with the reason.
    pub fn dropped_from(&self, headers: &[String]) -> Vec<(String, String)> {
        headers
            .iter()
            .filter(|h| !h.is_empty() && !self.carries(h))
            .map(|h| {
                let reason = self
                    .dropped
                    .iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(h))
                    .map_or_else(
                        || format!("not a column of V4's {} table: not imported", self.table),
                        |(_, why)| (*why).to_owned(),
                    );
                (h.clone(), reason)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// References to a client that every child file may use instead of `ClientId`.
    const CLIENT: [&str; 3] = [
        "ClientId",
        "ClientId_Reference",
        "ClientCompanyName_Reference",
    ];

    #[test]
    fn every_file_is_described_once_and_client_references_are_carried_together() {
        for (file, described) in crate::FILES.iter().zip(&FILES) {
            assert_eq!(*file, described.table);
        }
        for f in &FILES {
            let refs = CLIENT.iter().filter(|c| f.carries(c)).count();
            assert!(refs == 0 || refs == CLIENT.len(), "{}", f.table);
        }
    }
}
