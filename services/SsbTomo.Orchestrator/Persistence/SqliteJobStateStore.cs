using System.Globalization;
using Microsoft.Data.Sqlite;

namespace SsbTomo.Orchestrator.Persistence;

/// <summary>
/// Job state in one SQLite file: table <c>job_state(id, version, state_json, updated_utc)</c>, WAL journal.
/// Optimistic concurrency is a compare-and-set on <c>version</c> inside a single UPDATE/DELETE statement,
/// so two writers that read the same version cannot both succeed, in one process or several.
/// </summary>
public sealed class SqliteJobStateStore : IJobStateStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS job_state (
            id          TEXT    NOT NULL PRIMARY KEY,
            version     INTEGER NOT NULL,
            state_json  TEXT    NOT NULL,
            updated_utc TEXT    NOT NULL
        );
        """;

    private readonly string _connectionString;

    public SqliteJobStateStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        var folder = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30, // seconds a statement waits on a locked database (busy) before failing
        }.ToString();

        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        // WAL: readers never block the writer and vice versa; the mode is stored in the file and persists.
        command.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; " + Schema;
        command.ExecuteNonQuery();
    }

    /// <summary>Full path of the database file.</summary>
    public string Path { get; }

    public async Task<StoredJobState?> LoadAsync(Guid jobId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT version, state_json FROM job_state WHERE id = $id";
        command.Parameters.AddWithValue("$id", Key(jobId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        return new StoredJobState(JobStateJson.Deserialize(reader.GetString(1)), Format(reader.GetInt64(0)));
    }

    public async Task<string> InsertAsync(JobState state, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO job_state (id, version, state_json, updated_utc) VALUES ($id, 1, $json, $now)
            ON CONFLICT (id) DO NOTHING
            """;
        command.Parameters.AddWithValue("$id", Key(state.CorrelationId));
        command.Parameters.AddWithValue("$json", JobStateJson.Serialize(state));
        command.Parameters.AddWithValue("$now", Now());
        if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
            throw new JobStateConcurrencyException(state.CorrelationId, $"job {state.CorrelationId} already exists");
        return Format(1);
    }

    public async Task<string> UpdateAsync(JobState state, string expectedVersion, CancellationToken cancellationToken = default)
    {
        var expected = Parse(expectedVersion);
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE job_state SET version = version + 1, state_json = $json, updated_utc = $now
            WHERE id = $id AND version = $expected
            """;
        command.Parameters.AddWithValue("$id", Key(state.CorrelationId));
        command.Parameters.AddWithValue("$json", JobStateJson.Serialize(state));
        command.Parameters.AddWithValue("$now", Now());
        command.Parameters.AddWithValue("$expected", expected);
        if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
            throw new JobStateConcurrencyException(state.CorrelationId,
                $"job {state.CorrelationId} is no longer at version {expectedVersion} (changed or deleted)");
        return Format(expected + 1);
    }

    public async Task DeleteAsync(Guid jobId, string expectedVersion, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM job_state WHERE id = $id AND version = $expected";
        command.Parameters.AddWithValue("$id", Key(jobId));
        command.Parameters.AddWithValue("$expected", Parse(expectedVersion));
        if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
            throw new JobStateConcurrencyException(jobId, $"job {jobId} is no longer at version {expectedVersion} (changed or deleted)");
    }

    public async Task<IReadOnlyList<StoredJobState>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT version, state_json FROM job_state ORDER BY updated_utc DESC";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var jobs = new List<StoredJobState>();
        while (await reader.ReadAsync(cancellationToken))
            jobs.Add(new StoredJobState(JobStateJson.Deserialize(reader.GetString(1)), Format(reader.GetInt64(0))));
        return jobs;
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static string Key(Guid jobId) => jobId.ToString("D");

    private static string Now() => DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    private static string Format(long version) => version.ToString(CultureInfo.InvariantCulture);

    private static long Parse(string version) =>
        long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1;
}
