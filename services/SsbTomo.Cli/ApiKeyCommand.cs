using System.CommandLine;
using SsbTomo.Orchestrator.Access;

namespace SsbTomo.Cli;

/// <summary>Makes an API key: the key is printed once for its holder, the file line holds only its hash.</summary>
public static class ApiKeyCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "Who holds the key (1-64 letters, digits or . _ @ -); shown in logs.", Required = true };
        var role = new Option<string>("--role") { Description = "viewer (read jobs and the dashboard) or operator (also submit).", Required = true };
        role.AcceptOnlyFromAmong([.. Roles.All]);
        var command = new Command("apikey", "Make an API key for the orchestrator's API and dashboard: prints the key once and the line for the key file.")
        {
            name, role,
        };
        command.SetAction(parse =>
        {
            var key = ApiKeyStore.NewKey();
            string line;
            try
            {
                line = ApiKeyStore.FileLine(parse.GetValue(name)!, parse.GetValue(role)!, key);
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine($"ssbtomo apikey: {ex.Message}");
                return 2;
            }
            // Plain stdout, no markup: the output is meant to be copied or piped.
            Console.WriteLine($"# The key for {parse.GetValue(name)}, shown only now (it is not stored anywhere):");
            Console.WriteLine(key);
            Console.WriteLine("# Append this line to the API key file (SsbTomo:Auth:ApiKeysFile), then restart the orchestrator:");
            Console.WriteLine(line);
            return 0;
        });
        return command;
    }
}
