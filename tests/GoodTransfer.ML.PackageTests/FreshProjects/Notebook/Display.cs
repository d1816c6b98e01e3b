// .NET Interactive's display() for the notebook's cells when GoodTransfer.ML.PackageTests runs them as a
// console program: what a notebook would show under the cell is printed on a line of its own.
#pragma warning disable IDE1006 // The notebook's name for it.
public static class Notebook
{
    public static DisplayedValue display(object? value)
    {
        Console.WriteLine(value);
        return new DisplayedValue();
    }
}

public sealed class DisplayedValue
{
    public void Update(object? value) => Console.WriteLine(value);
}
