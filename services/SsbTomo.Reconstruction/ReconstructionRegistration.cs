using MassTransit;

namespace SsbTomo.Reconstruction;

public static class ReconstructionRegistration
{
    public static void AddReconstruction(this IBusRegistrationConfigurator bus) => bus.AddConsumer<ReconstructVolumeConsumer>();
}
