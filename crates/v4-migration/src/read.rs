//! Reading a V4 export file as it really comes: UTF-8 with or without a byte-order mark, or
//! Windows-1252; comma or semicolon (French-locale Excel); quoted fields with delimiters,
//! quotes and line breaks.

use std::path::Path;

/// A file's rows, with the line each starts on.
#[derive(Debug)]
pub struct CsvFile {
    pub headers: Vec<String>,
    pub rows: Vec<(u64, Vec<String>)>,
    pub encoding: &'static str,
    pub delimiter: char,
}

impl CsvFile {
    /// The index of a column by name, ignoring case and surrounding spaces.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    }
}

/// Reads and decodes a whole file. Errors name the file and say what is wrong.
pub fn read(path: &Path) -> Result<CsvFile, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let (text, encoding) = decode(&bytes);
    let first_line = text.lines().next().unwrap_or_default();
    // The header names no column with a delimiter in it: count them there.
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() {
        ';'
    } else {
        ','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter as u8)
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("{}: unreadable header: {e}", path.display()))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut rows = Vec::new();
    // Line numbers from byte offsets: the csv crate's own count runs one short after CRLF
    // line ends (it records a position before consuming the `\n`). Counted incrementally.
    let bytes = text.as_bytes();
    let (mut counted_to, mut newlines) = (0usize, 0u64);
    for record in reader.records() {
        let record = record.map_err(|e| format!("{}: malformed CSV: {e}", path.display()))?;
        let mut start = record
            .position()
            .map_or(0, |p| p.byte() as usize)
            .min(bytes.len());
        while start < bytes.len() && (bytes[start] == b'\n' || bytes[start] == b'\r') {
            start += 1;
        }
        newlines += bytes[counted_to..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        counted_to = start;
        rows.push((newlines + 1, record.iter().map(str::to_owned).collect()));
    }
    Ok(CsvFile {
        headers,
        rows,
        encoding,
        delimiter,
    })
}

/// UTF-8 (a BOM removed) when the bytes are valid UTF-8, else Windows-1252.
fn decode(bytes: &[u8]) -> (String, &'static str) {
    let without_bom = bytes.strip_prefix(b"\xEF\xBB\xBF");
    match std::str::from_utf8(without_bom.unwrap_or(bytes)) {
        Ok(text) => (
            text.to_owned(),
            if without_bom.is_some() {
                "UTF-8 with BOM"
            } else {
                "UTF-8"
            },
        ),
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            (text.into_owned(), "Windows-1252")
        }
    }
}
