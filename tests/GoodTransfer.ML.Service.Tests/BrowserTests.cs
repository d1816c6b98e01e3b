using GoodTransfer.ML.Service.Tests.Support;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace GoodTransfer.ML.Service.Tests;

/// <summary>
/// The page at GET / in a real browser: Debian's chromium, headless, driven through chromedriver (both installed by
/// scripts/test.sh). A photo is picked through the page's file input; the label and scores shown must be the
/// service's, and a screenshot is saved beside the test results.
/// </summary>
[Collection(SharedServiceFixture.Name)]
public sealed class BrowserTests(ServiceFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";
    private const string ChromeDriver = "/usr/bin/chromedriver";

    [Fact]
    public async Task A_photo_picked_on_the_page_shows_its_predicted_class_and_the_scores_of_every_class()
    {
        Assert.True(File.Exists(Chromium), $"The browser test needs Debian's chromium at {Chromium}: apt-get install chromium (scripts/test.sh installs it).");
        Assert.True(File.Exists(ChromeDriver), $"The browser test needs chromedriver at {ChromeDriver}: apt-get install chromium-driver (scripts/test.sh installs it).");
        using var server = new ImageServiceProcess(fixture.ClassifierZip);
        var image = ServiceFixture.HeldOut[^1];
        await using var service = FeaturizerService.Load(fixture.ClassifierZip);
        var expected = await service.PredictFileAsync(image.Path);

        var options = new ChromeOptions { BinaryLocation = Chromium };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=900,900");
        using var driverService = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(ChromeDriver), Path.GetFileName(ChromeDriver));
        driverService.SuppressInitialDiagnosticInformation = true;
        using var driver = new ChromeDriver(driverService, options, TimeSpan.FromSeconds(60));
        driver.Navigate().GoToUrl(server.BaseAddress);
        Assert.Equal("GoodTransfer.ML image classifier", driver.Title);

        driver.FindElement(By.Id("file")).SendKeys(image.Path);
        var wait = new WebDriverWait(driver, TimeSpan.FromSeconds(60));
        wait.Until(d => d.FindElement(By.Id("label")).Text.Length > 0 || d.FindElement(By.Id("error")).Text.Length > 0);

        var screenshot = Path.Combine(AppContext.BaseDirectory, "TestResults", "image-service-page.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        driver.GetScreenshot().SaveAsFile(screenshot);
        output.WriteLine($"Screenshot: {screenshot}");

        Assert.Equal(string.Empty, driver.FindElement(By.Id("error")).Text);
        Assert.Equal(expected.PredictedLabel, driver.FindElement(By.Id("label")).Text);
        var rows = driver.FindElements(By.CssSelector("tr.score-row"));
        Assert.Equal(ServiceFixture.Classes.Count, rows.Count);
        var shown = rows.ToDictionary(r => r.FindElements(By.TagName("td"))[0].Text, r => r.FindElements(By.TagName("td"))[1].Text);
        for (var i = 0; i < ServiceFixture.Classes.Count; i++)
        {
            Assert.Equal(expected.Scores[i].ToString("F3", System.Globalization.CultureInfo.InvariantCulture), shown[ServiceFixture.Classes[i]]);
        }

        Assert.Equal(Path.GetFileName(image.Path), driver.FindElement(By.Id("status")).Text);
    }
}
