using Microsoft.Extensions.Options;

namespace SsbTomo.Hosting;

/// <summary>Refuses to start a service whose settings <see cref="SsbTomoOptions.Problems"/> finds wrong, naming each.</summary>
public sealed class SsbTomoOptionsValidator : IValidateOptions<SsbTomoOptions>
{
    public ValidateOptionsResult Validate(string? name, SsbTomoOptions options) =>
        options.Problems().ToArray() is { Length: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}
