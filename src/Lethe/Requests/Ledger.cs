using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Lethe.Storage;
using Microsoft.Data.Sqlite;

namespace Lethe.Requests;

/// <summary>A recorded deletion request: when it came, how many samples it named, and the SHA-256 of its list.</summary>
public sealed record RequestRow(long Id, long Seq, string? Reference, DateTimeOffset Received, int Samples, string ListSha256, string RowSha256);

/// <summary>A model version: its parent, the request that made it (none for the first), its file and hashes, its utility.</summary>
public sealed record VersionRow(long Id, long Seq, long? Parent, long? Request, string File, string Sha256, string ModelSha256, DateTimeOffset Created, string Utility, string RowSha256);

/// <summary>How a request was answered: the versions before and after, the counts, the verdict and the certificate's hashes.</summary>
public sealed record OutcomeRow(
    long Request, long Seq, DateTimeOffset Processed, long ParentVersion, long? NewVersion, int Forgotten, int AlreadyForgotten, bool MeetsPolicy,
    string? Refused, string ForgottenSha256, string CertificateSha256, string MarkdownSha256, string HtmlSha256, string RowSha256);

/// <summary>
/// The store's ledger, ledger.db (SQLite in WAL mode). Rows are only ever added, each state change in one transaction:
/// a request when it is added; its outcome, the version it made and the hashes it forgot when it is processed. Every row
/// carries the SHA-256 of its fields and of the row before it (in order of <c>seq</c>), so that a changed value anywhere
/// in the ledger breaks the chain that `lethe requests verify` recomputes. After each commit, ledger.sha256 records the
/// SHA-256 of the whole file, so that a changed byte outside any value is found too.
/// </summary>
public sealed class Ledger : IDisposable
{
    public const string FileName = "ledger.db";
    public const string FormatName = "lethe-ledger";
    public const int FormatVersion = 1;

    readonly SqliteConnection connection;

    public string Path { get; }

    Ledger(string path, SqliteConnection connection)
    {
        Path = path;
        this.connection = connection;
    }

    static SqliteConnection Connect(string path, SqliteOpenMode mode)
    {
        // No pooling: the file is closed (and its WAL folded back) when the ledger is disposed.
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = mode, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    /// <summary>Creates the ledger and its tables with the store's fixed facts (meta), in one transaction.</summary>
    public static Ledger Create(string path, IReadOnlyDictionary<string, string> meta)
    {
        var connection = Connect(path, SqliteOpenMode.ReadWriteCreate);
        var ledger = new Ledger(path, connection);
        try
        {
            ledger.Execute("PRAGMA journal_mode=WAL;");
            ledger.Execute("PRAGMA synchronous=FULL;");
            using var transaction = ledger.Begin();
            ledger.Execute("""
                CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE requests(id INTEGER PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, reference TEXT, received TEXT NOT NULL,
                    samples INTEGER NOT NULL, list_sha256 TEXT NOT NULL, row_sha256 TEXT NOT NULL);
                CREATE TABLE versions(id INTEGER PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, parent INTEGER, request INTEGER, file TEXT NOT NULL,
                    sha256 TEXT NOT NULL, model_sha256 TEXT NOT NULL, created TEXT NOT NULL, utility TEXT NOT NULL, row_sha256 TEXT NOT NULL);
                CREATE TABLE outcomes(request INTEGER PRIMARY KEY REFERENCES requests(id), seq INTEGER NOT NULL UNIQUE, processed TEXT NOT NULL,
                    parent_version INTEGER NOT NULL, new_version INTEGER, forgotten INTEGER NOT NULL, already_forgotten INTEGER NOT NULL,
                    meets_policy INTEGER NOT NULL, refused TEXT, forgotten_sha256 TEXT NOT NULL, certificate_sha256 TEXT NOT NULL, markdown_sha256 TEXT NOT NULL,
                    html_sha256 TEXT NOT NULL, row_sha256 TEXT NOT NULL);
                CREATE TABLE forgotten(hash TEXT PRIMARY KEY, request INTEGER NOT NULL REFERENCES requests(id));
                """);
            var all = new Dictionary<string, string>(meta) { ["format"] = FormatName, ["version"] = FormatVersion.ToString(CultureInfo.InvariantCulture) };
            all["genesis"] = Genesis(all);
            foreach (var (key, value) in all) ledger.Execute("INSERT INTO meta(key, value) VALUES ($k, $v)", ("$k", key), ("$v", value));
            transaction.Commit();
            return ledger;
        }
        catch
        {
            ledger.Dispose();
            throw;
        }
    }

    /// <summary>Opens a store's ledger; a file that is not SQLite, or not a Lethe ledger, is a one-line error.</summary>
    public static Ledger Open(string path, bool readOnly = false)
    {
        if (!File.Exists(path)) throw new LetheException($"{path} is missing: this is not a Lethe store, or its ledger was removed");
        SqliteConnection? connection = null;
        try
        {
            connection = Connect(path, readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWrite);
            var ledger = new Ledger(path, connection);
            if (!readOnly) ledger.Execute("PRAGMA synchronous=FULL;");
            ledger.Execute("SELECT count(*) FROM sqlite_master;");
            var meta = ledger.Meta();
            if (!meta.TryGetValue("format", out var format) || format != FormatName) throw new DataFormatException(path, "is not a Lethe ledger");
            if (meta.GetValueOrDefault("version") != FormatVersion.ToString(CultureInfo.InvariantCulture))
                throw new DataFormatException(path, $"ledger version {meta.GetValueOrDefault("version")} is not supported (this Lethe reads {FormatVersion})");
            return ledger;
        }
        catch (SqliteException e)
        {
            connection?.Dispose();
            throw new DataFormatException(path, $"is not a readable SQLite ledger ({e.Message.Split('\n')[0].Replace("SQLite Error ", "", StringComparison.Ordinal)})");
        }
        catch
        {
            connection?.Dispose();
            throw;
        }
    }

    public Dictionary<string, string> Meta() => Read(() =>
    {
        var meta = new Dictionary<string, string>();
        using var command = Command("SELECT key, value FROM meta");
        using var reader = command.ExecuteReader();
        while (reader.Read()) meta[reader.GetString(0)] = reader.GetString(1);
        return meta;
    });

    /// <summary>The SHA-256 the meta rows were created with, over every fact but itself.</summary>
    public static string Genesis(IReadOnlyDictionary<string, string> meta) =>
        Sha256(string.Join("\n", meta.Where(p => p.Key != "genesis").OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")));

    /// <summary>"ok", or what SQLite finds wrong with the file's structure.</summary>
    public string IntegrityCheck() => Read(() =>
    {
        using var command = Command("PRAGMA integrity_check");
        return Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture) ?? "no answer";
    });

    public List<RequestRow> Requests() => Read(() =>
    {
        using var command = Command("SELECT id, seq, reference, received, samples, list_sha256, row_sha256 FROM requests ORDER BY id");
        using var reader = command.ExecuteReader();
        var rows = new List<RequestRow>();
        while (reader.Read())
            rows.Add(new RequestRow(reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2), Time(reader.GetString(3)),
                reader.GetInt32(4), reader.GetString(5), reader.GetString(6)));
        return rows;
    });

    public List<VersionRow> Versions() => Read(() =>
    {
        using var command = Command("SELECT id, seq, parent, request, file, sha256, model_sha256, created, utility, row_sha256 FROM versions ORDER BY id");
        using var reader = command.ExecuteReader();
        var rows = new List<VersionRow>();
        while (reader.Read())
            rows.Add(new VersionRow(reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetInt64(3),
                reader.GetString(4), reader.GetString(5), reader.GetString(6), Time(reader.GetString(7)), reader.GetString(8), reader.GetString(9)));
        return rows;
    });

    public List<OutcomeRow> Outcomes() => Read(() =>
    {
        using var command = Command("""
            SELECT request, seq, processed, parent_version, new_version, forgotten, already_forgotten, meets_policy, refused, forgotten_sha256,
                certificate_sha256, markdown_sha256, html_sha256, row_sha256 FROM outcomes ORDER BY request
            """);
        using var reader = command.ExecuteReader();
        var rows = new List<OutcomeRow>();
        while (reader.Read())
            rows.Add(new OutcomeRow(reader.GetInt64(0), reader.GetInt64(1), Time(reader.GetString(2)), reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetInt64(4),
                reader.GetInt32(5), reader.GetInt32(6), reader.GetInt64(7) != 0, reader.IsDBNull(8) ? null : reader.GetString(8), reader.GetString(9), reader.GetString(10),
                reader.GetString(11), reader.GetString(12), reader.GetString(13)));
        return rows;
    });

    /// <summary>Every forgotten sample's hash and the request that forgot it.</summary>
    public Dictionary<string, long> Forgotten() => Read(() =>
    {
        using var command = Command("SELECT hash, request FROM forgotten");
        using var reader = command.ExecuteReader();
        var rows = new Dictionary<string, long>();
        while (reader.Read()) rows[reader.GetString(0)] = reader.GetInt64(1);
        return rows;
    });

    /// <summary>Records a request and returns its id.</summary>
    public RequestRow AddRequest(string? reference, DateTimeOffset received, int samples, string listSha256)
    {
        using var transaction = Begin();
        var (seq, previous) = Head();
        var id = Scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM requests");
        var row = new RequestRow(id, seq, reference, received, samples, listSha256, "");
        row = row with { RowSha256 = RowHash(previous, Fields(row)) };
        Execute("INSERT INTO requests(id, seq, reference, received, samples, list_sha256, row_sha256) VALUES ($id, $seq, $ref, $rec, $n, $list, $row)",
            ("$id", row.Id), ("$seq", row.Seq), ("$ref", (object?)row.Reference ?? DBNull.Value), ("$rec", Text(row.Received)), ("$n", row.Samples),
            ("$list", row.ListSha256), ("$row", row.RowSha256));
        transaction.Commit();
        Committed();
        return row;
    }

    /// <summary>The store's first version, recorded when it is made.</summary>
    public VersionRow AddFirstVersion(string file, string sha256, string modelSha256, DateTimeOffset created, string utility)
    {
        using var transaction = Begin();
        var row = InsertVersion(new VersionRow(0, 0, null, null, file, sha256, modelSha256, created, utility, ""));
        transaction.Commit();
        Stamp();
        return row;
    }

    /// <summary>
    /// Records a processed request in one transaction: the version it made (if any), its outcome and the hashes it forgot.
    /// <paramref name="beforeCommit"/> runs inside the transaction (a fault point for the tests of crash safety).
    /// </summary>
    public OutcomeRow RecordOutcome(OutcomeRow outcome, VersionRow? version, IReadOnlyCollection<string> forgottenHashes, Action? beforeCommit = null)
    {
        using var transaction = Begin();
        if (version is not null) InsertVersion(version);
        var (seq, previous) = Head();
        var row = outcome with { Seq = seq, ForgottenSha256 = HashList(forgottenHashes) };
        row = row with { RowSha256 = RowHash(previous, Fields(row)) };
        Execute("""
            INSERT INTO outcomes(request, seq, processed, parent_version, new_version, forgotten, already_forgotten, meets_policy, refused, forgotten_sha256,
                certificate_sha256, markdown_sha256, html_sha256, row_sha256)
            VALUES ($r, $seq, $p, $pv, $nv, $f, $af, $m, $x, $fs, $c, $md, $h, $row)
            """,
            ("$r", row.Request), ("$seq", row.Seq), ("$p", Text(row.Processed)), ("$pv", row.ParentVersion), ("$nv", (object?)row.NewVersion ?? DBNull.Value),
            ("$f", row.Forgotten), ("$af", row.AlreadyForgotten), ("$m", row.MeetsPolicy ? 1 : 0), ("$x", (object?)row.Refused ?? DBNull.Value), ("$fs", row.ForgottenSha256), ("$c", row.CertificateSha256),
            ("$md", row.MarkdownSha256), ("$h", row.HtmlSha256), ("$row", row.RowSha256));
        foreach (var hash in forgottenHashes) Execute("INSERT INTO forgotten(hash, request) VALUES ($h, $r)", ("$h", hash), ("$r", row.Request));
        beforeCommit?.Invoke();
        transaction.Commit();
        Committed();
        return row;
    }

    VersionRow InsertVersion(VersionRow version)
    {
        var (seq, previous) = Head();
        var id = Scalar("SELECT COALESCE(MAX(id) + 1, 0) FROM versions");
        var row = version with { Id = id, Seq = seq };
        row = row with { RowSha256 = RowHash(previous, Fields(row)) };
        Execute("""
            INSERT INTO versions(id, seq, parent, request, file, sha256, model_sha256, created, utility, row_sha256)
            VALUES ($id, $seq, $p, $r, $f, $s, $m, $c, $u, $row)
            """,
            ("$id", row.Id), ("$seq", row.Seq), ("$p", (object?)row.Parent ?? DBNull.Value), ("$r", (object?)row.Request ?? DBNull.Value), ("$f", row.File),
            ("$s", row.Sha256), ("$m", row.ModelSha256), ("$c", Text(row.Created)), ("$u", row.Utility), ("$row", row.RowSha256));
        return row;
    }

    public const string StampFileName = "ledger.sha256";
    const string StampHeader = "lethe-ledger-stamp v1";

    string StampPath => System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path)) ?? ".", StampFileName);

    void Committed()
    {
        Runtime.FaultPoints.Reach("ledger:committed");
        Stamp();
    }

    /// <summary>
    /// Writes ledger.sha256: the last row's seq and the SHA-256 of the whole ledger file after folding the WAL back into it,
    /// so that a changed byte anywhere in ledger.db (not only in a value the row chain covers) is found by verify.
    /// </summary>
    public void Stamp()
    {
        Execute("PRAGMA wal_checkpoint(TRUNCATE);");
        var body = $"{StampHeader}\nseq {Head().Seq - 1}\nsha256 {FileSha256(Path)}\n";
        AtomicFile.WriteAllText(StampPath, body + $"check {Sha256(body)}\n");
    }

    /// <summary>
    /// Checks ledger.db against ledger.sha256: a problem (one line naming the file), or stale when the ledger has rows the
    /// stamp has not seen (a run killed between its commit and its stamp; <see cref="Stamp"/> brings it up to date).
    /// </summary>
    public (string? Problem, bool Stale) CheckStamp()
    {
        if (!File.Exists(StampPath)) return ($"{StampFileName} is missing", false);
        var lines = File.ReadAllText(StampPath).Split('\n');
        if (lines.Length < 4 || lines[0] != StampHeader || !lines[1].StartsWith("seq ", StringComparison.Ordinal) || !lines[2].StartsWith("sha256 ", StringComparison.Ordinal)
            || lines[3] != $"check {Sha256(string.Concat(lines.Take(3).Select(l => l + "\n")))}" || !long.TryParse(lines[1][4..], CultureInfo.InvariantCulture, out var seq))
            return ($"{StampFileName} is damaged", false);
        var head = Read(() => Head().Seq - 1);
        if (seq > head) return ($"{FileName} has lost rows: {StampFileName} was written after row {seq}, the ledger ends at row {head}", false);
        if (seq < head) return (null, true);
        return FileSha256(Path) == lines[2][7..] ? (null, false) : ($"{FileName} has changed: it does not match {StampFileName}", false);
    }

    static string FileSha256(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>The next row's seq and the hash it chains to (the genesis for the first row).</summary>
    (long Seq, string Previous) Head()
    {
        using var command = Command("""
            SELECT seq, row_sha256 FROM (SELECT seq, row_sha256 FROM requests UNION ALL SELECT seq, row_sha256 FROM versions
                UNION ALL SELECT seq, row_sha256 FROM outcomes) ORDER BY seq DESC LIMIT 1
            """);
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0) + 1, reader.GetString(1)) : (1, Meta()["genesis"]);
    }

    /// <summary>
    /// Recomputes the chain of row hashes in order of seq; returns the first row that breaks it ("requests row 3: ...")
    /// or null when the chain holds.
    /// </summary>
    public string? CheckChain()
    {
        var meta = Meta();
        if (!meta.TryGetValue("genesis", out var genesis) || genesis != Genesis(meta)) return "its fixed facts (meta) do not match their SHA-256";
        var rows = Requests().Select(r => (r.Seq, Table: "requests", Key: r.Id, Fields: Fields(r), r.RowSha256))
            .Concat(Versions().Select(v => (v.Seq, Table: "versions", Key: v.Id, Fields: Fields(v), v.RowSha256)))
            .Concat(Outcomes().Select(o => (o.Seq, Table: "outcomes", Key: o.Request, Fields: Fields(o), o.RowSha256)))
            .OrderBy(r => r.Seq).ToList();
        var previous = genesis;
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            if (row.Seq != i + 1) return $"{row.Table} row {row.Key} is out of sequence (seq {row.Seq}, expected {i + 1})";
            if (RowHash(previous, row.Fields) != row.RowSha256) return $"{row.Table} row {row.Key} does not match its SHA-256";
            previous = row.RowSha256;
        }
        return null;
    }

    /// <summary>The SHA-256 of a set of hashes, in sorted order.</summary>
    public static string HashList(IEnumerable<string> hashes) => Sha256(string.Join("\n", hashes.Order(StringComparer.Ordinal)));

    static string Fields(RequestRow r) => Join("request", r.Id, r.Seq, r.Reference, Text(r.Received), r.Samples, r.ListSha256);

    static string Fields(VersionRow v) => Join("version", v.Id, v.Seq, v.Parent, v.Request, v.File, v.Sha256, v.ModelSha256, Text(v.Created), v.Utility);

    static string Fields(OutcomeRow o) => Join("outcome", o.Request, o.Seq, Text(o.Processed), o.ParentVersion, o.NewVersion, o.Forgotten, o.AlreadyForgotten,
        o.MeetsPolicy, o.Refused, o.ForgottenSha256, o.CertificateSha256, o.MarkdownSha256, o.HtmlSha256);

    static string Join(params object?[] fields) =>
        string.Join("\u001f", fields.Select(f => f is null ? "\u2400" : Convert.ToString(f, CultureInfo.InvariantCulture)));

    static string RowHash(string previous, string fields) => Sha256(previous + "\n" + fields);

    static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    static string Text(DateTimeOffset time) => time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    static DateTimeOffset Time(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    /// <summary>A read of the ledger; a value SQLite or the parser cannot read is a damaged ledger, named in one line.</summary>
    T Read<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is SqliteException or FormatException or InvalidCastException or OverflowException or KeyNotFoundException)
        {
            throw new DataFormatException(Path, $"is damaged: {e.Message.Split('\n')[0].Replace("SQLite Error ", "", StringComparison.Ordinal)}");
        }
    }

    SqliteTransaction? transaction;

    /// <summary>Starts a transaction that every command joins until it is committed or disposed.</summary>
    SqliteTransaction Begin() => transaction = connection.BeginTransaction();

    SqliteCommand Command(string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        if (transaction?.Connection is not null) command.Transaction = transaction;
        return command;
    }

    long Scalar(string sql)
    {
        using var command = Command(sql);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    void Execute(string sql, params (string Name, object Value)[] parameters)
    {
        using var command = Command(sql);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        command.ExecuteNonQuery();
    }

    public void Dispose() => connection.Dispose();
}
