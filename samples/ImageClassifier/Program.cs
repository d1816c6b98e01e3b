using GoodTransfer.ML.Samples;

// Trains and evaluates an image classifier on the features of a pretrained backbone:
//
//   dotnet run --project samples/ImageClassifier -- [--data DIR] [--backbone NAME | --checkpoint FILE] [--model FILE]
//
// With no arguments it classifies the 300 Fashion-MNIST images that ship with the samples, with MoCo v2's
// ImageNet backbone, which is downloaded once into the cache.

return SampleMain.Run(ImageClassifierSample.Command(), args, fileName => $"--checkpoint {fileName}");
