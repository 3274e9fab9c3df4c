using System.CommandLine;
using SsbTomo.Cli;

var root = new RootCommand("SsbTomo: FIB-SEM stacks of solid-state-battery cathodes in, trustworthy 3D microstructure numbers out.")
{
    RunCommand.Create(),
    MeasureCommand.Create(),
    SeriesCommand.Create(),
    PhantomCommand.Create(),
    CompareCommand.Create(),
    ServeCommand.Create(),
    ApiKeyCommand.Create(),
    TrainableSegmentation.CreateTrain(),
    TrainableSegmentation.CreateSegment(),
};
return await root.Parse(args).InvokeAsync();
