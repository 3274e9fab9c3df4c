using System.Globalization;
using BitMiracle.LibTiff.Classic;

namespace SsbTomo.Storage;

/// <summary>
/// Process-wide LibTiff.NET setup: registers the microscope vendors' private ASCII tags (so they can be written and
/// are read as text) and routes LibTiff's error messages to the calling thread instead of the console.
/// </summary>
internal static class LibTiffSupport
{
    public const TiffTag FeiMetadataTag = (TiffTag)34682;
    public const TiffTag ZeissMetadataTag = (TiffTag)34118;

    private static readonly TiffFieldInfo[] VendorFields =
    [
        new(FeiMetadataTag, TiffFieldInfo.Variable, TiffFieldInfo.Variable, TiffType.ASCII, FieldBit.Custom, true, false, "FEI_HELIOS"),
        new(ZeissMetadataTag, TiffFieldInfo.Variable, TiffFieldInfo.Variable, TiffType.ASCII, FieldBit.Custom, true, false, "CZ_SEM"),
    ];

    private static readonly Lock InitializationLock = new();
    private static bool s_initialized;
    private static Tiff.TiffExtendProc? s_previousExtender;

    [ThreadStatic] private static List<string>? t_errors;

    public static void EnsureInitialized()
    {
        lock (InitializationLock)
        {
            if (s_initialized)
                return;
            // The extender is global in LibTiff; chain to whatever was registered before so other users keep their tags.
            s_previousExtender = Tiff.SetTagExtender(ExtendTags);
            Tiff.SetErrorHandler(new ThreadErrorCollector());
            s_initialized = true;
        }
    }

    /// <summary>Collects LibTiff errors raised on this thread until disposed.</summary>
    public static ErrorScope CaptureErrors()
    {
        EnsureInitialized();
        return new ErrorScope();
    }

    private static void ExtendTags(Tiff tiff)
    {
        tiff.MergeFieldInfo(VendorFields, VendorFields.Length);
        s_previousExtender?.Invoke(tiff);
    }

    public sealed class ErrorScope : IDisposable
    {
        private readonly List<string>? _outer = t_errors;
        private readonly List<string> _errors = [];

        internal ErrorScope() => t_errors = _errors;

        public string Describe() => _errors.Count == 0 ? "unknown LibTiff error" : string.Join("; ", _errors.Distinct());

        public void Dispose() => t_errors = _outer;
    }

    private sealed class ThreadErrorCollector : TiffErrorHandler
    {
        public override void ErrorHandler(Tiff tif, string method, string format, params object[] args) =>
            t_errors?.Add(Format(format, args));

        public override void ErrorHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args)
        {
        }

        // Unknown-tag and similar warnings are routine in microscope TIFFs; they are not worth a console line.
        public override void WarningHandler(Tiff tif, string method, string format, params object[] args)
        {
        }

        public override void WarningHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args)
        {
        }

        private static string Format(string format, object[] args)
        {
            try { return string.Format(CultureInfo.InvariantCulture, format, args); }
            catch (FormatException) { return format; }
        }
    }
}
