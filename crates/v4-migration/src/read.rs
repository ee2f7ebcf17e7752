//! Reading a V4 export file as it really comes: UTF-8 with or without a byte-order mark, or
//! Windows-1252; comma or semicolon (French-locale Excel); quoted fields with delimiters,
//! quotes and line breaks.
//!
//! A file is read as a stream, never whole: one pass (`scan`) decides its encoding and
//! delimiter and proves it complete, then [`CsvReader`] hands out its rows one at a time.
//! Memory is bounded by the longest row, whatever the file's size.
//!
//! Fatal (the migration stops and changes nothing), each naming the file and byte offset:
//! * a file whose last record ends inside a quoted field (a truncated export: importing
//!   what is there would store the cut field as if it were whole);
//! * bytes that are valid in no encoding the export may use: a file that holds UTF-8
//!   sequences (or starts with a UTF-8 byte-order mark) and also bytes that are not UTF-8
//!   (a UTF-8 file damaged, or two files pasted together), or one of the five bytes
//!   Windows-1252 leaves undefined.
//!
//! A row with more or fewer fields than the header is not fatal: the caller rejects it,
//! with its line, because a missing field would otherwise be read as an empty value.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// How the bytes of a file are text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8WithBom,
    Windows1252,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8WithBom => "UTF-8 with BOM",
            Encoding::Windows1252 => "Windows-1252",
        }
    }

    fn decode(self, bytes: &[u8]) -> String {
        match self {
            // `scan` proved the whole file valid: lossless.
            Encoding::Utf8 | Encoding::Utf8WithBom => String::from_utf8_lossy(bytes).into_owned(),
            Encoding::Windows1252 => encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
        }
    }
}

/// One row as read: the line it starts on and its fields, decoded.
#[derive(Debug, Clone)]
pub struct RawRow {
    pub line: u64,
    pub fields: Vec<String>,
}

/// A V4 export file open for reading, row by row.
pub struct CsvReader {
    path: PathBuf,
    pub headers: Vec<String>,
    pub encoding: Encoding,
    pub delimiter: char,
    records: csv::Reader<BufReader<File>>,
    record: csv::ByteRecord,
    lines: LineCounter,
}

impl std::fmt::Debug for CsvReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvReader")
            .field("path", &self.path)
            .field("headers", &self.headers)
            .field("encoding", &self.encoding)
            .field("delimiter", &self.delimiter)
            .finish_non_exhaustive()
    }
}

impl CsvReader {
    /// Opens a file: proves it complete and decodable, reads its header. Errors name the
    /// file and say what is wrong, and where.
    pub fn open(path: &Path) -> Result<CsvReader, String> {
        let cannot = |e: std::io::Error| format!("{}: cannot read: {e}", path.display());
        let scan = scan(File::open(path).map_err(cannot)?).map_err(|e| match e {
            ScanError::Io(e) => cannot(e),
            other => format!("{}: {other}", path.display()),
        })?;
        let mut records = csv::ReaderBuilder::new()
            .delimiter(scan.delimiter)
            // Rows of the wrong length are read so that they can be rejected with their line.
            .flexible(true)
            .has_headers(false)
            .from_reader(BufReader::new(File::open(path).map_err(cannot)?));
        let mut record = csv::ByteRecord::new();
        let lines = LineCounter::new(BufReader::new(File::open(path).map_err(cannot)?));
        let headers = match records.read_byte_record(&mut record) {
            // csv-core strips a UTF-8 byte-order mark itself, and counts it in positions.
            Ok(true) => record
                .iter()
                .map(|h| scan.encoding.decode(h).trim().to_owned())
                .collect(),
            Ok(false) => Vec::new(),
            Err(e) => return Err(format!("{}: unreadable header: {e}", path.display())),
        };
        if headers.iter().all(String::is_empty) {
            return Err(format!("{}: the file has no header row", path.display()));
        }
        Ok(CsvReader {
            path: path.to_owned(),
            headers,
            encoding: scan.encoding,
            delimiter: char::from(scan.delimiter),
            records,
            record,
            lines,
        })
    }

    /// The index of a column by name, ignoring case and surrounding spaces.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    }

    /// The next row, or `None` at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<RawRow>, String> {
        match self.records.read_byte_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let start = self.record.position().map_or(0, |p| p.byte());
                let line = self
                    .lines
                    .line_of(start)
                    .map_err(|e| format!("{}: cannot read: {e}", self.path.display()))?;
                let fields = self
                    .record
                    .iter()
                    .map(|f| self.encoding.decode(f))
                    .collect();
                Ok(Some(RawRow { line, fields }))
            }
            Err(e) => Err(format!("{}: malformed CSV: {e}", self.path.display())),
        }
    }
}

/// Line numbers from byte offsets, counted by a second sequential reader: the csv crate's
/// own count runs one short after CRLF line ends (a record's position is taken before the
/// `\n` of the previous line end is consumed).
struct LineCounter {
    bytes: std::io::Bytes<BufReader<File>>,
    /// The next byte's offset, and it once read when peeked.
    offset: u64,
    peeked: Option<u8>,
    newlines: u64,
}

impl LineCounter {
    fn new(reader: BufReader<File>) -> LineCounter {
        LineCounter {
            bytes: reader.bytes(),
            offset: 0,
            peeked: None,
            newlines: 0,
        }
    }

    fn next(&mut self) -> std::io::Result<Option<u8>> {
        let byte = match self.peeked.take() {
            Some(b) => Some(b),
            None => self.bytes.next().transpose()?,
        };
        if let Some(b) = byte {
            self.offset += 1;
            if b == b'\n' {
                self.newlines += 1;
            }
        }
        Ok(byte)
    }

    fn peek(&mut self) -> std::io::Result<Option<u8>> {
        if self.peeked.is_none() {
            self.peeked = self.bytes.next().transpose()?;
        }
        Ok(self.peeked)
    }

    /// The 1-based line of the record whose position is `start`: line ends before the
    /// record's first byte are skipped (they belong to the previous line).
    fn line_of(&mut self, start: u64) -> std::io::Result<u64> {
        while self.offset < start {
            if self.next()?.is_none() {
                break;
            }
        }
        while let Some(b'\n' | b'\r') = self.peek()? {
            self.next()?;
        }
        Ok(self.newlines + 1)
    }
}

/// What the first pass found.
#[derive(Debug)]
struct Scan {
    encoding: Encoding,
    delimiter: u8,
}

#[derive(Debug, thiserror::Error)]
enum ScanError {
    #[error("{0}")]
    Io(std::io::Error),
    #[error(
        "the file ends inside a quoted field opened at byte {opened} (line {line}): the export is truncated; export it again"
    )]
    Truncated { opened: u64, line: u64 },
    #[error(
        "not valid UTF-8 at byte {offset} (line {line}), although the file {why}: re-save it as UTF-8 (or Windows-1252) throughout"
    )]
    NotUtf8 {
        offset: u64,
        line: u64,
        why: &'static str,
    },
    #[error(
        "byte 0x{byte:02X} at byte {offset} (line {line}) is neither UTF-8 nor Windows-1252 text"
    )]
    Undecodable { byte: u8, offset: u64, line: u64 },
}

/// One pass over the file, in fixed-size chunks: UTF-8 validity (sequences may straddle
/// chunks), Windows-1252's undefined bytes, the delimiter from the header line, and whether
/// the last record is complete.
fn scan(mut file: File) -> Result<Scan, ScanError> {
    const CHUNK: usize = 64 * 1024;
    let mut buffer = vec![0u8; CHUNK];
    let mut offset: u64 = 0;
    let mut bom = false;
    let mut utf8 = Utf8Check::default();
    let mut undefined_1252: Option<(u8, u64, u64)> = None;
    let mut quotes = QuoteCheck::new();
    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ScanError::Io(e)),
        };
        let mut chunk = &buffer[..read];
        if offset == 0 && chunk.starts_with(b"\xEF\xBB\xBF") {
            bom = true;
            chunk = &chunk[3..];
            offset = 3;
        }
        utf8.feed(chunk, offset, quotes.line);
        if undefined_1252.is_none()
            && let Some(at) = chunk
                .iter()
                .position(|b| matches!(b, 0x81 | 0x8D | 0x8F | 0x90 | 0x9D))
        {
            let line = quotes.line + newlines(&chunk[..at]);
            undefined_1252 = Some((chunk[at], offset + at as u64, line));
        }
        quotes.feed(chunk, offset);
        offset += chunk.len() as u64;
    }
    utf8.finish();
    if let Some((opened, line)) = quotes.unterminated() {
        return Err(ScanError::Truncated { opened, line });
    }
    let encoding = match utf8.first_invalid {
        None if bom => Encoding::Utf8WithBom,
        None => Encoding::Utf8,
        Some((offset, line)) if bom => {
            return Err(ScanError::NotUtf8 {
                offset,
                line,
                why: "starts with a UTF-8 byte-order mark",
            });
        }
        // Windows-1252 text practically never forms valid UTF-8 sequences (`Ã©` for `é`
        // would be needed): a file with both is damaged UTF-8, not another encoding.
        Some((offset, line)) if utf8.multibyte > 0 => {
            return Err(ScanError::NotUtf8 {
                offset,
                line,
                why: "holds UTF-8 text elsewhere",
            });
        }
        Some(_) => match undefined_1252 {
            Some((byte, offset, line)) => {
                return Err(ScanError::Undecodable { byte, offset, line });
            }
            None => Encoding::Windows1252,
        },
    };
    Ok(Scan {
        encoding,
        delimiter: quotes.delimiter(),
    })
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

/// Incremental UTF-8 validation: the first invalid byte and how many valid multi-byte
/// characters were seen.
#[derive(Default)]
struct Utf8Check {
    /// The start of a sequence cut by the end of the previous chunk, and its offset.
    carry: Vec<u8>,
    carry_at: (u64, u64),
    multibyte: u64,
    first_invalid: Option<(u64, u64)>,
}

impl Utf8Check {
    /// `chunk` starts at `offset`, on line `line`.
    fn feed(&mut self, chunk: &[u8], offset: u64, line: u64) {
        if self.first_invalid.is_some() && self.multibyte > 0 {
            return; // decided: damaged UTF-8
        }
        // `line` counts from the chunk; the carried bytes hold no line end.
        let mut data = std::mem::take(&mut self.carry);
        let base = offset - data.len() as u64;
        data.extend_from_slice(chunk);
        let mut at = 0;
        while at < data.len() {
            let (valid, rest) = match std::str::from_utf8(&data[at..]) {
                Ok(_) => (data.len() - at, None),
                Err(e) => (e.valid_up_to(), Some(e.error_len())),
            };
            self.multibyte += data[at..at + valid].iter().filter(|b| **b >= 0xC0).count() as u64;
            at += valid;
            match rest {
                None => break,
                // Cut by the chunk's end: completed (or not) by the next chunk.
                Some(None) => {
                    self.carry = data[at..].to_vec();
                    self.carry_at = (base + at as u64, line + newlines(&data[..at]));
                    break;
                }
                Some(Some(bad)) => {
                    if self.first_invalid.is_none() {
                        let line = line + newlines(&data[..at]);
                        self.first_invalid = Some((base + at as u64, line));
                    }
                    at += bad;
                }
            }
        }
    }

    /// The end of the file: a sequence still open is invalid.
    fn finish(&mut self) {
        if !self.carry.is_empty() && self.first_invalid.is_none() {
            self.first_invalid = Some(self.carry_at);
        }
    }
}

/// The csv crate's reading of quotes, to know whether the file ends inside a quoted field: a
/// quote opens a quoted field only at the start of a field; inside one, `""` is a quote and
/// a lone quote closes it; elsewhere a quote is an ordinary character.
struct QuoteCheck {
    state: Quoting,
    opened: (u64, u64),
    /// The current line, 1-based.
    line: u64,
    header: Option<u8>,
    commas: u64,
    semicolons: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Quoting {
    #[default]
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl QuoteCheck {
    fn new() -> QuoteCheck {
        QuoteCheck {
            state: Quoting::FieldStart,
            opened: (0, 1),
            line: 1,
            header: None,
            commas: 0,
            semicolons: 0,
        }
    }

    fn feed(&mut self, chunk: &[u8], offset: u64) {
        for (i, &b) in chunk.iter().enumerate() {
            let delimiter = match self.header {
                Some(d) => b == d,
                // The header line names no column with a delimiter in it: count them there.
                None => {
                    match b {
                        b',' => self.commas += 1,
                        b';' => self.semicolons += 1,
                        b'\n' => self.header = Some(self.delimiter()),
                        _ => {}
                    }
                    b == b',' || b == b';'
                }
            };
            self.state = match (self.state, b) {
                (Quoting::FieldStart, b'"') => {
                    self.opened = (offset + i as u64, self.line);
                    Quoting::Quoted
                }
                (Quoting::Quoted, b'"') => Quoting::QuoteInQuoted,
                (Quoting::Quoted, _) => Quoting::Quoted,
                (Quoting::QuoteInQuoted, b'"') => Quoting::Quoted,
                (_, b'\n' | b'\r') => Quoting::FieldStart,
                _ if delimiter => Quoting::FieldStart,
                _ => Quoting::Unquoted,
            };
            if b == b'\n' {
                self.line += 1;
            }
        }
    }

    fn delimiter(&self) -> u8 {
        self.header.unwrap_or(if self.semicolons > self.commas {
            b';'
        } else {
            b','
        })
    }

    /// Where the quoted field the file ends in was opened, if it does.
    fn unterminated(&self) -> Option<(u64, u64)> {
        (self.state == Quoting::Quoted).then_some(self.opened)
    }
}
