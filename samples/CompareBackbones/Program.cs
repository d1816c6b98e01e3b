using GoodTransfer.ML.Samples;

// Compares backbones of the paper on your images: the accuracy of a linear probe on each one's features,
// by k-fold cross-validation, as a table like the paper's, and a PCA plot of the features:
//
//   dotnet run --project samples/CompareBackbones -- [--data DIR] [--backbones A,B,C] [--checkpoint-dir DIR] [--folds K] [--plot FILE]
//
// With no arguments it compares four backbones on the 300 Fashion-MNIST images that ship with the samples.

return SampleMain.Run(CompareBackbonesSample.Command(), args, fileName => $"--checkpoint-dir DIR, a folder holding {fileName} and the other backbones' files");
