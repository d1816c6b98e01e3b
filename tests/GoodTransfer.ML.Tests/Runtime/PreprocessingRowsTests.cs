using GoodTransfer.ML.Runtime;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Tests.Runtime;

public sealed class PreprocessingRowsTests
{
    [Fact]
    public void Pixels_column_has_the_shape_of_ImageNets_crop()
    {
        // The attribute's sizes are constants, written beside ImagePreprocessing.ImageNet rather than read from it.
        var crop = ImagePreprocessing.ImageNet.CropSize;
        var column = Assert.Single(SchemaDefinition.Create(typeof(PixelsRow)));

        Assert.Equal([3, crop, crop], Assert.IsType<VectorDataViewType>(column.ColumnType).Dimensions.ToArray());
        Assert.Equal(3 * crop * crop, new PixelsRow().Pixels.Length);
    }
}
